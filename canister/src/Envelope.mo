/// The leaf envelope shared with the TypeScript file backend: RFC 8785 canonical JSON of
/// {"entry": <entry>, "recordedAt": "<ns>", "recordedBy": "<principal>"}. Keys already sort as
/// entry < recordedAt < recordedBy and the client sends `entry` as canonical JSON, so plain
/// concatenation gives the canonical form; the principal text and a decimal number never need
/// JSON escaping.
import Blob "mo:core/Blob";
import Nat "mo:core/Nat";
import Nat8 "mo:core/Nat8";
import Text "mo:core/Text";
import Array "mo:core/Array";
import VarArray "mo:core/VarArray";

module {
  public func leaf(entry : Blob, recordedAt : Nat, recordedBy : Text) : Blob {
    let head = Text.encodeUtf8("{\"entry\":");
    let tail = Text.encodeUtf8(",\"recordedAt\":\"" # Nat.toText(recordedAt) # "\",\"recordedBy\":\"" # recordedBy # "\"}");
    concat([head, entry, tail]);
  };

  public func concat(parts : [Blob]) : Blob {
    var n = 0;
    for (p in parts.vals()) { n += p.size() };
    let out = Array_fromParts(parts, n);
    Blob.fromArray(out);
  };

  func Array_fromParts(parts : [Blob], n : Nat) : [Nat8] {
    let buf = VarArray.repeat<Nat8>(0, n);
    var i = 0;
    for (p in parts.vals()) { for (b in p.vals()) { buf[i] := b; i += 1 } };
    Array.fromVarArray(buf);
  };

  /// Why `entry` cannot be an entry, or null when it can: a JSON object in valid UTF-8.
  public func checkEntry(entry : Blob) : ?Text {
    let n = entry.size();
    if (n < 2) return ?"entry is shorter than a JSON object";
    if (entry.get(0) != 0x7b) return ?"entry does not start with '{'";
    if (entry.get(n - 1 : Nat) != 0x7d) return ?"entry does not end with '}'";
    switch (Text.decodeUtf8(entry)) {
      case null ?"entry is not valid UTF-8";
      case (?_) null;
    };
  };
};
