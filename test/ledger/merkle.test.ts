import { describe, expect, it } from "vitest";
import { hashLeaf, inclusionPath, consistencyPath, ProofInputError, RootMismatchError, EMPTY_ROOT } from "../../src/ledger/merkle.ts";
import { verifyInclusion, verifyConsistency } from "../../src/ledger/verify.ts";
import { MemoryTree } from "../../src/ledger/memory-tree.ts";
import { toHex, type Hash } from "../../src/ledger/hash.ts";

// RFC 6962 test leaves and roots as published by transparency-dev/merkle (testonly).
const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

function treeOf(count: number): MemoryTree {
  const tree = new MemoryTree();
  for (let i = 0; i < count; i++) {
    tree.appendLeafHash(i < LEAVES.length ? hashLeaf(Buffer.from(LEAVES[i] ?? "", "hex")) : hashLeaf(Buffer.from(`leaf-${i}`)));
  }
  return tree;
}

describe("RFC 6962 roots", () => {
  it.each(ROOTS.map((root, size) => [size, root] as const))("size %i has the published root", (size, root) => {
    expect(toHex(treeOf(8).root(size))).toBe(root);
    expect(toHex(treeOf(size).root())).toBe(root);
  });
  it("empty tree root is SHA-256 of nothing", () => {
    expect(toHex(EMPTY_ROOT)).toBe(ROOTS[0]);
  });
});

function flipBit(hash: Hash): Hash {
  const copy = Uint8Array.from(hash);
  copy[0] = (copy[0] ?? 0) ^ 1;
  return copy;
}

describe("inclusion proofs", () => {
  const tree = treeOf(37);
  for (const size of [1, 2, 3, 5, 8, 13, 32, 37]) {
    for (let index = 0; index < size; index++) {
      it(`leaf ${index} of ${size} verifies and every mutant fails`, () => {
        const proof = inclusionPath(tree.source, index, size);
        const root = tree.root(size);
        const leaf = tree.source(0, index);
        verifyInclusion(index, size, leaf, proof, root);
        const mutants: Array<[number, number, Hash, Hash[], Hash]> = [
          [index + 1, size, leaf, proof, root],
          [index - 1, size, leaf, proof, root],
          [index, size * 2, leaf, proof, root],
          [index, size, flipBit(leaf), proof, root],
          [index, size, leaf, proof, flipBit(root)],
          [index, size, leaf, [...proof, leaf], root],
          [index, size, leaf, [leaf, ...proof], root],
          ...proof.map((_, i): [number, number, Hash, Hash[], Hash] => [index, size, leaf, proof.map((h, j) => (i === j ? flipBit(h) : h)), root]),
          ...proof.map((_, i): [number, number, Hash, Hash[], Hash] => [index, size, leaf, proof.filter((__, j) => j !== i), root]),
        ];
        if (size > 1) mutants.push([index, size, leaf, proof, tree.root(size - 1)]);
        for (const [i, s, l, p, r] of mutants) {
          expect(() => verifyInclusion(i, s, l, p, r), `mutant index=${i} size=${s} len=${p.length}`).toThrow();
        }
      });
    }
  }

  it("names the wrong proof size", () => {
    const proof = inclusionPath(tree.source, 0, 8);
    expect(() => verifyInclusion(0, 8, tree.source(0, 0), proof.slice(1), tree.root(8))).toThrow(/wrong proof size 2, want 3/);
  });

  it("reports a root mismatch separately from malformed input", () => {
    const proof = inclusionPath(tree.source, 3, 8);
    expect(() => verifyInclusion(3, 8, tree.source(0, 3), proof, tree.root(7))).toThrow(RootMismatchError);
    expect(() => verifyInclusion(9, 8, tree.source(0, 3), proof, tree.root(8))).toThrow(ProofInputError);
  });
});

describe("consistency proofs", () => {
  const tree = treeOf(37);
  const pairs: Array<[number, number]> = [];
  for (const to of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 37]) for (let from = 1; from <= to; from++) pairs.push([from, to]);
  it.each(pairs)("%i -> %i verifies and every mutant fails", (from, to) => {
    const proof = consistencyPath(tree.source, from, to);
    const r1 = tree.root(from);
    const r2 = tree.root(to);
    verifyConsistency(from, to, proof, r1, r2);
    if (from === to) {
      expect(() => verifyConsistency(from, to, [r1], r1, r2)).toThrow();
      expect(() => verifyConsistency(from, to, proof, r1, flipBit(r2))).toThrow();
      return;
    }
    const mutants: Array<[number, number, Hash[], Hash, Hash]> = [
      [from, to, proof, r2, r1],
      [from, to, proof, flipBit(r1), r2],
      [from, to, proof, r1, flipBit(r2)],
      [from, to, [...proof, r1], r1, r2],
      [from, to, proof.slice(1), r1, r2],
      [from, to * 2, proof, r1, r2],
      ...proof.map((_, i): [number, number, Hash[], Hash, Hash] => [from, to, proof.map((h, j) => (i === j ? flipBit(h) : h)), r1, r2]),
    ];
    if (from > 1) mutants.push([from - 1, to, proof, r1, r2]);
    if (from + 1 < to) mutants.push([from + 1, to, proof, r1, r2]);
    for (const [a, b, p, x, y] of mutants) {
      expect(() => verifyConsistency(a, b, p, x, y), `mutant ${a}->${b} len=${p.length}`).toThrow();
    }
  });
});
