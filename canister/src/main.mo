/// The modelchain ledger canister: an append-only RFC 6962 log whose tip is certified by the
/// subnet. A thin shell over Storage (Region-backed bytes and hashes) and the pure modules
/// Envelope, Merkle and Sha256, which the interpreter tests cover.
import Blob "mo:core/Blob";
import Batch "Batch";
import CertifiedData "mo:core/CertifiedData";
import IC "mo:core/InternetComputer";
import Int "mo:core/Int";
import List "mo:core/List";
import Map "mo:core/Map";
import Nat "mo:core/Nat";
import Nat64 "mo:core/Nat64";
import Nat8 "mo:core/Nat8";
import Principal "mo:core/Principal";
import Runtime "mo:core/Runtime";
import Set "mo:core/Set";
import Text "mo:core/Text";
import Time "mo:core/Time";
import Envelope "Envelope";
import Merkle "Merkle";
import Sha256 "Sha256";
import Storage "Storage";

persistent actor Ledger {
  public type AppendItem = Batch.AppendItem;
  public type Receipt = {
    index : Nat64;
    leaf_hash : Blob;
    size : Nat64;
    root : Blob;
    duplicate : Bool;
  };
  public type AppendError = Batch.AppendError;
  public type Tip = { size : Nat64; root : Blob; certificate : ?Blob };
  public type Leaf = { index : Nat64; leaf : Blob };
  public type ProofResult = { #ok : [Blob]; #err : Text };
  public type Stats = {
    size : Nat64;
    leaf_bytes : Nat64;
    stable_bytes : Nat64;
    max_entry_bytes : Nat64;
    max_batch_bytes : Nat64;
    max_key_bytes : Nat64;
    max_query_entries : Nat64;
    max_query_bytes : Nat64;
    last_append_entries : Nat64;
    last_append_instructions : Nat64;
  };

  let maxBatchBytes : Nat = Batch.MAX_BATCH_BYTES;
  let maxKeyBytes : Nat = Batch.MAX_KEY_BYTES;
  let maxQueryEntries : Nat = 1000;
  // Below the 3 MiB reply limit, with room for Candid framing.
  let maxQueryBytes : Nat = 2_097_152;
  var maxEntryBytes : Nat = Batch.DEFAULT_MAX_ENTRY_BYTES;

  let regions = Storage.newRegions();
  var size : Nat = 0;
  let keys = Map.empty<Text, Nat64>();
  let appenderSet = Set.empty<Principal>();
  var lastAppendEntries : Nat64 = 0;
  var lastAppendInstructions : Nat64 = 0;

  func nodes() : Merkle.Store { Storage.nodeStore(regions) };

  func currentRoot() : Blob { Merkle.root(nodes(), size) };

  func u64be(n : Nat64) : Blob {
    Blob.fromArray([
      Nat8.fromNat(Nat64.toNat((n >> 56) & 0xff)), Nat8.fromNat(Nat64.toNat((n >> 48) & 0xff)),
      Nat8.fromNat(Nat64.toNat((n >> 40) & 0xff)), Nat8.fromNat(Nat64.toNat((n >> 32) & 0xff)),
      Nat8.fromNat(Nat64.toNat((n >> 24) & 0xff)), Nat8.fromNat(Nat64.toNat((n >> 16) & 0xff)),
      Nat8.fromNat(Nat64.toNat((n >> 8) & 0xff)), Nat8.fromNat(Nat64.toNat(n & 0xff)),
    ]);
  };

  /// Certified data = SHA-256(u64be(size) ‖ root), so a certificate proves the whole tip.
  func certify(root : Blob) {
    CertifiedData.set(Sha256.hashParts([u64be(Nat64.fromNat(size)), root]));
  };

  func requireController(caller : Principal, method : Text) {
    if (not Principal.isController(caller)) {
      Runtime.trap(method # ": caller " # Principal.toText(caller) # " is not a controller");
    };
  };

  func mayAppend(caller : Principal) : Bool {
    Principal.isController(caller) or Set.contains(appenderSet, Principal.compare, caller);
  };

  func limits() : Batch.Limits {
    { maxBatchBytes; maxEntryBytes; maxKeyBytes };
  };

  func leafHashAt(index : Nat) : Blob { nodes().load(Merkle.position(0, index)) };

  // Certified from the start, so that even the empty ledger's tip (size 0) is provable; a
  // transient field is evaluated again on every upgrade, like postupgrade below.
  transient let _certifiedAtStart : () = certify(currentRoot());

  type Placed = { index : Nat64; leaf_hash : Blob; duplicate : Bool };

  func appendOne(caller : Principal, now : Nat, item : AppendItem) : Placed {
    switch (Map.get(keys, Text.compare, item.key)) {
      case (?index) return { index; leaf_hash = leafHashAt(Nat64.toNat(index)); duplicate = true };
      case null {};
    };
    let leaf = Envelope.leaf(item.entry, now, Principal.toText(caller));
    let hash = Merkle.leafHash(leaf);
    let index = size;
    Storage.putLeaf(regions, index, leaf);
    Merkle.append(nodes(), index, hash);
    size += 1;
    Map.add(keys, Text.compare, item.key, Nat64.fromNat(index));
    { index = Nat64.fromNat(index); leaf_hash = hash; duplicate = false };
  };

  /// Every receipt of a batch carries the tip after the whole batch: one root computation per
  /// call instead of one per entry, and each entry is included in that tree.
  public shared ({ caller }) func append(items : [AppendItem]) : async { #ok : [Receipt]; #err : AppendError } {
    if (not mayAppend(caller)) {
      return #err(#unauthorized("caller " # Principal.toText(caller) # " may not append"));
    };
    switch (Batch.check(limits(), items)) { case (?e) return #err(e); case null {} };
    let now = Int.abs(Time.now());
    let placed = List.empty<Placed>();
    for (item in items.vals()) { List.add(placed, appendOne(caller, now, item)) };
    let root = currentRoot();
    certify(root);
    let tipSize = Nat64.fromNat(size);
    lastAppendEntries := Nat64.fromNat(items.size());
    lastAppendInstructions := IC.performanceCounter(0);
    #ok(List.toArray(List.map<Placed, Receipt>(placed, func(p) = { p with size = tipSize; root })));
  };

  /// The receipt of an already recorded key (with the current tip), without appending.
  public query func lookup(key : Text) : async ?Receipt {
    switch (Map.get(keys, Text.compare, key)) {
      case null null;
      case (?index) ?{
        index;
        leaf_hash = leafHashAt(Nat64.toNat(index));
        size = Nat64.fromNat(size);
        root = currentRoot();
        duplicate = true;
      };
    };
  };

  public query func entries(start : Nat64, count : Nat64) : async [Leaf] {
    let out = List.empty<Leaf>();
    var i = Nat64.toNat(start);
    let stop = Nat.min(size, i + Nat.min(Nat64.toNat(count), maxQueryEntries));
    var bytes = 0;
    label fill while (i < stop) {
      let leaf = Storage.getLeaf(regions, i);
      bytes += leaf.size();
      if (bytes > maxQueryBytes and List.size(out) > 0) break fill;
      List.add(out, { index = Nat64.fromNat(i); leaf });
      i += 1;
    };
    List.toArray(out);
  };

  public query func tip() : async Tip {
    { size = Nat64.fromNat(size); root = currentRoot(); certificate = CertifiedData.getCertificate() };
  };

  public query func inclusion_proof(index : Nat64, tree_size : Nat64) : async ProofResult {
    let (m, n) = (Nat64.toNat(index), Nat64.toNat(tree_size));
    if (n > size) return #err("inclusion proof: tree size " # Nat.toText(n) # " exceeds ledger size " # Nat.toText(size));
    if (m >= n) return #err("inclusion proof: index " # Nat.toText(m) # " is not below tree size " # Nat.toText(n));
    #ok(Merkle.inclusionProof(nodes(), m, n));
  };

  public query func consistency_proof(from : Nat64, to : Nat64) : async ProofResult {
    let (m, n) = (Nat64.toNat(from), Nat64.toNat(to));
    if (n > size) return #err("consistency proof: size " # Nat.toText(n) # " exceeds ledger size " # Nat.toText(size));
    if (m > n) return #err("consistency proof: from " # Nat.toText(m) # " exceeds to " # Nat.toText(n));
    if (m == 0) return #ok([]);
    #ok(Merkle.consistencyProof(nodes(), m, n));
  };

  public shared ({ caller }) func add_appender(p : Principal) : async () {
    requireController(caller, "add_appender");
    Set.add(appenderSet, Principal.compare, p);
  };

  public shared ({ caller }) func remove_appender(p : Principal) : async () {
    requireController(caller, "remove_appender");
    Set.remove(appenderSet, Principal.compare, p);
  };

  public shared query ({ caller }) func appenders() : async [Principal] {
    requireController(caller, "appenders");
    Set.toArray(appenderSet);
  };

  public shared ({ caller }) func set_max_entry_bytes(limit : Nat64) : async () {
    requireController(caller, "set_max_entry_bytes");
    if (Nat64.toNat(limit) > maxBatchBytes) Runtime.trap("set_max_entry_bytes: limit exceeds the batch limit " # Nat.toText(maxBatchBytes));
    maxEntryBytes := Nat64.toNat(limit);
  };

  public query func stats() : async Stats {
    {
      size = Nat64.fromNat(size);
      leaf_bytes = Storage.leafStart(regions, size);
      stable_bytes = Storage.stableBytes(regions);
      max_entry_bytes = Nat64.fromNat(maxEntryBytes);
      max_batch_bytes = Nat64.fromNat(maxBatchBytes);
      max_key_bytes = Nat64.fromNat(maxKeyBytes);
      max_query_entries = Nat64.fromNat(maxQueryEntries);
      max_query_bytes = Nat64.fromNat(maxQueryBytes);
      last_append_entries = lastAppendEntries;
      last_append_instructions = lastAppendInstructions;
    };
  };

  system func postupgrade() { certify(currentRoot()) };
};
