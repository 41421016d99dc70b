/// RFC 6962 §2.1 Merkle tree hash, audit paths and consistency proofs, over a store of
/// complete-subtree hashes. The store is laid out in in-order positions: the subtree of
/// height `level` covering leaves [i·2^level, (i+1)·2^level) sits at position
/// i·2^(level+1) + 2^level − 1, so leaf i is at 2i and n leaves use fewer than 2n slots.
/// Every hash a proof needs is then a short sequence of stored reads (O(log n) per subtree).
import Blob "mo:core/Blob";
import List "mo:core/List";
import Nat "mo:core/Nat";
import Text "mo:core/Text";
import Sha256 "Sha256";

module {
  public func emptyRoot() : Blob { Sha256.hash("") };

  public func leafHash(leaf : Blob) : Blob { Sha256.hashParts(["\00", leaf]) };

  public func nodeHash(left : Blob, right : Blob) : Blob {
    Sha256.hashParts(["\01", left, right]);
  };

  /// In-order position of the complete subtree of height `level`, index `i`.
  public func position(level : Nat, i : Nat) : Nat {
    let w = 2 ** level;
    i * 2 * w + w - 1;
  };

  public type Store = {
    load : (pos : Nat) -> Blob;
    store : (pos : Nat, hash : Blob) -> ();
  };

  /// Records leaf number `n` (0-based, so the tree had n leaves) and every complete subtree
  /// that it closes. Costs 1 + (trailing ones of n) node hashes.
  public func append(s : Store, n : Nat, leaf : Blob) {
    var h = leaf;
    s.store(position(0, n), h);
    var level = 0;
    var i = n;
    while (i % 2 == 1) {
      h := nodeHash(s.load(position(level, i - 1)), h);
      level += 1;
      i /= 2;
      s.store(position(level, i), h);
    };
  };

  func largestPow2Below(n : Nat) : Nat {
    var k = 1;
    while (k * 2 < n) { k *= 2 };
    k;
  };

  func log2(w : Nat) : Nat {
    var l = 0;
    var x = w;
    while (x > 1) { x /= 2; l += 1 };
    l;
  };

  func isPow2(n : Nat) : Bool {
    var x = n;
    while (x > 1) { if (x % 2 == 1) return false; x /= 2 };
    x == 1;
  };

  /// MTH(D[lo:hi]) from stored complete subtrees.
  public func rangeHash(s : Store, lo : Nat, hi : Nat) : Blob {
    let n = hi - lo : Nat;
    if (n == 0) return emptyRoot();
    if (isPow2(n) and lo % n == 0) return s.load(position(log2(n), lo / n));
    let k = largestPow2Below(n);
    nodeHash(rangeHash(s, lo, lo + k), rangeHash(s, lo + k, hi));
  };

  public func root(s : Store, size : Nat) : Blob { rangeHash(s, 0, size) };

  /// PATH(m, D[0:size]) of RFC 6962 §2.1.1, leaf-side first.
  public func inclusionProof(s : Store, m : Nat, size : Nat) : [Blob] {
    let out = List.empty<Blob>();
    var lo = 0;
    var hi = size;
    var idx = m;
    // Walk down from the root, collecting siblings, then reverse to leaf-first order.
    while (hi > lo + 1) {
      let k = largestPow2Below(hi - lo);
      if (idx < k) {
        List.add(out, rangeHash(s, lo + k, hi));
        hi := lo + k;
      } else {
        List.add(out, rangeHash(s, lo, lo + k));
        lo += k;
        idx -= k;
      };
    };
    List.toArray(List.reverse(out));
  };

  /// PROOF(m, D[0:size]) of RFC 6962 §2.1.2 (0 < m ≤ size), leaf-side first.
  public func consistencyProof(s : Store, m : Nat, size : Nat) : [Blob] {
    let out = List.empty<Blob>();
    var lo = 0;
    var hi = size;
    var mm = m;
    var complete = true;
    label walk while (true) {
      let n = hi - lo : Nat;
      if (mm == n) {
        if (not complete) List.add(out, rangeHash(s, lo, hi));
        break walk;
      };
      let k = largestPow2Below(n);
      if (mm <= k) {
        List.add(out, rangeHash(s, lo + k, hi));
        hi := lo + k;
      } else {
        List.add(out, rangeHash(s, lo, lo + k));
        lo += k;
        mm -= k;
        complete := false;
      };
    };
    List.toArray(List.reverse(out));
  };

  /// An in-memory store, for the interpreter tests and for building trees off-chain.
  public class MemoryTree() {
    let slots = List.empty<Blob>();
    var count = 0;
    public let store : Store = {
      load = func(pos : Nat) : Blob { List.at(slots, pos) };
      store = func(pos : Nat, h : Blob) {
        while (List.size(slots) <= pos) { List.add<Blob>(slots, "") };
        List.put(slots, pos, h);
      };
    };
    public func add(leaf : Blob) { append(store, count, leafHash(leaf)); count += 1 };
    public func size() : Nat { count };
    public func root() : Blob { rangeHash(store, 0, count) };
  };
};
