/// Checks an append batch before anything is written, so a batch lands entirely or not at all.
/// Pure, so the limits are tested in the interpreter.
import Nat "mo:core/Nat";
import Nat64 "mo:core/Nat64";
import Text "mo:core/Text";
import Envelope "Envelope";

module {
  public type AppendItem = { key : Text; entry : Blob };

  public type AppendError = {
    #unauthorized : Text;
    #batch_too_large : { bytes : Nat64; limit : Nat64 };
    #entry_too_large : { item : Nat64; bytes : Nat64; limit : Nat64 };
    #invalid_entry : { item : Nat64; reason : Text };
    #invalid_key : { item : Nat64; reason : Text };
  };

  /// The ingress message limit: no larger batch can arrive from outside anyway.
  public let MAX_BATCH_BYTES : Nat = 2_097_152;
  public let DEFAULT_MAX_ENTRY_BYTES : Nat = 1_048_576;
  public let MAX_KEY_BYTES : Nat = 1024;

  public type Limits = { maxBatchBytes : Nat; maxEntryBytes : Nat; maxKeyBytes : Nat };

  /// The key JSON-encodes to itself unless it holds '"', '\' or a control character.
  func plainKey(key : Text) : Bool {
    for (c in key.chars()) {
      if (c == '\"' or c == '\\' or c < ' ') return false;
    };
    true;
  };

  /// Whether `needle` occurs in `hay`, byte for byte. Over the bytes, not Text: decoding the
  /// entry into characters for Text.contains cost a third of an append's instructions.
  public func containsBytes(hay : Blob, needle : Blob) : Bool {
    let (h, m) = (hay.size(), needle.size());
    if (m == 0) return true;
    if (m > h) return false;
    let first = needle.get(0);
    let last = h - m : Nat;
    var i = 0;
    while (i <= last) {
      if (hay.get(i) == first) {
        var j = 1;
        while (j < m and hay.get(i + j) == needle.get(j)) j += 1;
        if (j == m) return true;
      };
      i += 1;
    };
    false;
  };

  public func checkItem(limits : Limits, i : Nat, item : AppendItem) : ?AppendError {
    let idx = Nat64.fromNat(i);
    let keyBytes = Text.encodeUtf8(item.key).size();
    if (keyBytes == 0 or keyBytes > limits.maxKeyBytes) {
      return ?#invalid_key({ item = idx; reason = "key must be 1.." # Nat.toText(limits.maxKeyBytes) # " bytes, got " # Nat.toText(keyBytes) });
    };
    if (item.entry.size() > limits.maxEntryBytes) {
      return ?#entry_too_large({ item = idx; bytes = Nat64.fromNat(item.entry.size()); limit = Nat64.fromNat(limits.maxEntryBytes) });
    };
    switch (Envelope.checkEntry(item.entry)) {
      case (?reason) return ?#invalid_entry({ item = idx; reason });
      case null {};
    };
    // The idempotency key must be the entry's own key, so a replayed key cannot stand for
    // another entry. Keys that need JSON escaping are not checked here (their encoded form
    // differs from the text).
    if (plainKey(item.key)) {
      if (not containsBytes(item.entry, Text.encodeUtf8("\"key\":\"" # item.key # "\""))) {
        return ?#invalid_key({ item = idx; reason = "entry has no \"key\" field equal to the given key" });
      };
    };
    null;
  };

  public func check(limits : Limits, items : [AppendItem]) : ?AppendError {
    var bytes = 0;
    for (item in items.vals()) { bytes += item.entry.size() + Text.encodeUtf8(item.key).size() };
    if (bytes > limits.maxBatchBytes) {
      return ?#batch_too_large({ bytes = Nat64.fromNat(bytes); limit = Nat64.fromNat(limits.maxBatchBytes) });
    };
    var i = 0;
    for (item in items.vals()) {
      switch (checkItem(limits, i, item)) { case (?e) return ?e; case null {} };
      i += 1;
    };
    null;
  };
};
