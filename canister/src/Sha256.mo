/// SHA-256 (NIST FIPS 180-4). No SHA-256 library is reachable from this build, so it is
/// written here; tested on the FIPS 180-4 examples in the interpreter.
import Array "mo:core/Array";
import Blob "mo:core/Blob";
import Nat8 "mo:core/Nat8";
import Nat32 "mo:core/Nat32";
import Nat64 "mo:core/Nat64";
import VarArray "mo:core/VarArray";

module {
  let K : [Nat32] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];

  let H0 : [Nat32] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];

  /// Incremental hasher: feed bytes with `write`, then call `sum` once.
  public class Digest() {
    let h : [var Nat32] = Array.toVarArray<Nat32>(H0);
    let block : [var Nat8] = VarArray.repeat<Nat8>(0, 64);
    let w : [var Nat32] = VarArray.repeat<Nat32>(0, 64);
    var fill : Nat = 0;
    var total : Nat64 = 0; // message length in bytes

    func compress() {
      var t = 0;
      while (t < 16) {
        let j = 4 * t;
        w[t] := (Nat32.fromNat(Nat8.toNat(block[j])) << 24) | (Nat32.fromNat(Nat8.toNat(block[j + 1])) << 16) | (Nat32.fromNat(Nat8.toNat(block[j + 2])) << 8) | Nat32.fromNat(Nat8.toNat(block[j + 3]));
        t += 1;
      };
      while (t < 64) {
        let x = w[t - 15];
        let y = w[t - 2];
        let s0 = (x <>> 7) ^ (x <>> 18) ^ (x >> 3);
        let s1 = (y <>> 17) ^ (y <>> 19) ^ (y >> 10);
        w[t] := w[t - 16] +% s0 +% w[t - 7] +% s1;
        t += 1;
      };
      var a = h[0]; var b = h[1]; var c = h[2]; var d = h[3];
      var e = h[4]; var f = h[5]; var g = h[6]; var hh = h[7];
      t := 0;
      while (t < 64) {
        let S1 = (e <>> 6) ^ (e <>> 11) ^ (e <>> 25);
        let ch = (e & f) ^ ((^ e) & g);
        let t1 = hh +% S1 +% ch +% K[t] +% w[t];
        let S0 = (a <>> 2) ^ (a <>> 13) ^ (a <>> 22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = S0 +% maj;
        hh := g; g := f; f := e; e := d +% t1;
        d := c; c := b; b := a; a := t1 +% t2;
        t += 1;
      };
      h[0] +%= a; h[1] +%= b; h[2] +%= c; h[3] +%= d;
      h[4] +%= e; h[5] +%= f; h[6] +%= g; h[7] +%= hh;
    };

    func push(byte : Nat8) {
      block[fill] := byte;
      fill += 1;
      if (fill == 64) { compress(); fill := 0 };
    };

    public func writeByte(byte : Nat8) {
      push(byte);
      total +%= 1;
    };

    public func write(data : Blob) {
      for (byte in data.vals()) { push(byte) };
      total +%= Nat64.fromNat(data.size());
    };

    public func sum() : Blob {
      let bits = total *% 8;
      push(0x80);
      while (fill != 56) { push(0) };
      var s : Nat64 = 56;
      while (true) {
        push(Nat8.fromNat(Nat64.toNat((bits >> s) & 0xff)));
        if (s == 0) { return output() };
        s -= 8;
      };
      output();
    };

    func output() : Blob {
      Blob.fromArray(Array.tabulate<Nat8>(32, func(i) {
        Nat8.fromNat(Nat32.toNat((h[i / 4] >> Nat32.fromNat(24 - 8 * (i % 4))) & 0xff))
      }));
    };
  };

  /// SHA-256 of the concatenation of `parts`, without building the concatenation.
  public func hashParts(parts : [Blob]) : Blob {
    let d = Digest();
    for (p in parts.vals()) { d.write(p) };
    d.sum();
  };

  public func hash(data : Blob) : Blob { hashParts([data]) };
};
