/// Region-backed storage: leaf envelope bytes back to back, a u64 end-offset index, and the
/// Merkle node store (32-byte hashes at in-order positions, see Merkle.mo). Only the actor uses
/// it: the interpreter has no Region primitives.
import Region "mo:core/Region";
import Nat64 "mo:core/Nat64";
import Runtime "mo:core/Runtime";
import Merkle "Merkle";

module {
  let PAGE : Nat64 = 65536;

  public type Regions = {
    leaves : Region.Region; // envelope bytes
    offsets : Region.Region; // end offset (u64) of leaf i at 8·i
    nodes : Region.Region; // subtree hashes, 32 bytes per in-order position
  };

  public func newRegions() : Regions {
    { leaves = Region.new(); offsets = Region.new(); nodes = Region.new() };
  };

  /// Grows `r` so that bytes [0, end) exist; traps when the subnet refuses more memory.
  func ensure(r : Region.Region, end : Nat64) {
    let have = Region.size(r) * PAGE;
    if (end <= have) return;
    let pages = (end - have + PAGE - 1) / PAGE;
    if (Region.grow(r, pages) == 0xFFFF_FFFF_FFFF_FFFF) {
      Runtime.trap("stable memory: cannot grow region by " # Nat64.toText(pages) # " pages");
    };
  };

  public func leafStart(g : Regions, i : Nat) : Nat64 {
    if (i == 0) 0 else Region.loadNat64(g.offsets, Nat64.fromNat(8 * (i - 1)));
  };

  public func leafEnd(g : Regions, i : Nat) : Nat64 {
    Region.loadNat64(g.offsets, Nat64.fromNat(8 * i));
  };

  /// Stores the envelope of leaf number `i` (the current size) after the previous one.
  public func putLeaf(g : Regions, i : Nat, leaf : Blob) {
    let start = leafStart(g, i);
    let end = start + Nat64.fromNat(leaf.size());
    ensure(g.leaves, end);
    Region.storeBlob(g.leaves, start, leaf);
    ensure(g.offsets, Nat64.fromNat(8 * (i + 1)));
    Region.storeNat64(g.offsets, Nat64.fromNat(8 * i), end);
  };

  public func getLeaf(g : Regions, i : Nat) : Blob {
    let start = leafStart(g, i);
    Region.loadBlob(g.leaves, start, Nat64.toNat(leafEnd(g, i) - start));
  };

  public func nodeStore(g : Regions) : Merkle.Store {
    {
      load = func(pos : Nat) : Blob {
        Region.loadBlob(g.nodes, Nat64.fromNat(32 * pos), 32);
      };
      store = func(pos : Nat, h : Blob) {
        let at = Nat64.fromNat(32 * pos);
        ensure(g.nodes, at + 32);
        Region.storeBlob(g.nodes, at, h);
      };
    };
  };

  public func stableBytes(g : Regions) : Nat64 {
    (Region.size(g.leaves) + Region.size(g.offsets) + Region.size(g.nodes)) * PAGE;
  };
};
