/// Lower-case hex encoding, for test output and error messages.
import Nat8 "mo:core/Nat8";
import Text "mo:core/Text";
import Char "mo:core/Char";
import Nat32 "mo:core/Nat32";
import Blob "mo:core/Blob";
import Array "mo:core/Array";
import VarArray "mo:core/VarArray";

module {
  let digits : [Char] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

  public func encode(b : Blob) : Text {
    var out = "";
    for (byte in b.vals()) {
      let n = Nat8.toNat(byte);
      out #= Char.toText(digits[n / 16]) # Char.toText(digits[n % 16]);
    };
    out;
  };

  func nibble(c : Char) : ?Nat8 {
    let n = Char.toNat32(c);
    if (n >= 48 and n <= 57) return ?Nat8.fromNat(Nat32.toNat(n - 48));
    if (n >= 97 and n <= 102) return ?Nat8.fromNat(Nat32.toNat(n - 87));
    if (n >= 65 and n <= 70) return ?Nat8.fromNat(Nat32.toNat(n - 55));
    null;
  };

  /// Decodes hex; null on an odd length or a non-hex character.
  public func decode(t : Text) : ?Blob {
    let chars = Text.toArray(t);
    if (chars.size() % 2 != 0) return null;
    let out = Array_tabulateOpt(chars.size() / 2, func(i) {
      switch (nibble(chars[2 * i]), nibble(chars[2 * i + 1])) {
        case (?hi, ?lo) ?(hi * 16 + lo);
        case _ null;
      };
    });
    switch out { case (?a) ?Blob.fromArray(a); case null null };
  };

  func Array_tabulateOpt(n : Nat, f : Nat -> ?Nat8) : ?[Nat8] {
    let buf = VarArray.repeat<Nat8>(0, n);
    var i = 0;
    while (i < n) {
      switch (f(i)) { case (?v) buf[i] := v; case null return null };
      i += 1;
    };
    ?Array.fromVarArray(buf);
  };
};
