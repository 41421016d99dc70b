import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  hashLeaf,
  inclusionPath,
  consistencyPath,
  ProofInputError,
  RootMismatchError,
  EMPTY_ROOT,
} from "../../src/ledger/merkle.ts";
import { verifyInclusion, verifyConsistency, verifyExtends } from "../../src/ledger/verify.ts";
import { MemoryTree } from "../../src/ledger/memory-tree.ts";
import { toHex, type Hash } from "../../src/ledger/hash.ts";

// RFC 6962 test leaves, roots and proofs as published by transparency-dev/merkle (testonly),
// in the vector file the Motoko tests read too.
const VECTORS = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "vectors", "rfc6962.json"), "utf8"),
) as {
  leaves: string[];
  roots: string[];
  inclusion: Array<{ index: number; size: number; proof: string[] }>;
  consistency: Array<{ from: number; to: number; proof: string[] }>;
};
const LEAVES = VECTORS.leaves;
const ROOTS = VECTORS.roots;

function treeOf(count: number): MemoryTree {
  const tree = new MemoryTree();
  for (let i = 0; i < count; i++) {
    tree.appendLeafHash(
      i < LEAVES.length ? hashLeaf(Buffer.from(LEAVES[i] ?? "", "hex")) : hashLeaf(Buffer.from(`leaf-${i}`)),
    );
  }
  return tree;
}

describe("RFC 6962 roots", () => {
  it.each(ROOTS.map((root, size) => [size, root] as const))(
    "size %i has the published root",
    (size, root) => {
      expect(toHex(treeOf(8).root(size))).toBe(root);
      expect(toHex(treeOf(size).root())).toBe(root);
    },
  );
  it("empty tree root is SHA-256 of nothing", () => {
    expect(toHex(EMPTY_ROOT)).toBe(ROOTS[0]);
  });

  it.each(VECTORS.inclusion.map((v) => [v.index, v.size, v] as const))(
    "inclusion proof for leaf %i of %i is the published one",
    (index, size, v) => {
      expect(inclusionPath(treeOf(8).source, index, size).map(toHex)).toEqual(v.proof);
    },
  );

  it.each(VECTORS.consistency.map((v) => [v.from, v.to, v] as const))(
    "consistency proof %i -> %i is the published one",
    (from, to, v) => {
      expect(consistencyPath(treeOf(8).source, from, to).map(toHex)).toEqual(v.proof);
    },
  );
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
          ...proof.map((_, i): [number, number, Hash, Hash[], Hash] => [
            index,
            size,
            leaf,
            proof.map((h, j) => (i === j ? flipBit(h) : h)),
            root,
          ]),
          ...proof.map((_, i): [number, number, Hash, Hash[], Hash] => [
            index,
            size,
            leaf,
            proof.filter((__, j) => j !== i),
            root,
          ]),
        ];
        if (size > 1) mutants.push([index, size, leaf, proof, tree.root(size - 1)]);
        for (const [i, s, l, p, r] of mutants) {
          expect(
            () => verifyInclusion(i, s, l, p, r),
            `mutant index=${i} size=${s} len=${p.length}`,
          ).toThrow();
        }
      });
    }
  }

  it("names the wrong proof size", () => {
    const proof = inclusionPath(tree.source, 0, 8);
    expect(() => verifyInclusion(0, 8, tree.source(0, 0), proof.slice(1), tree.root(8))).toThrow(
      /wrong proof size 2, want 3/,
    );
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
  for (const to of [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 37])
    for (let from = 1; from <= to; from++) pairs.push([from, to]);
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
      ...proof.map((_, i): [number, number, Hash[], Hash, Hash] => [
        from,
        to,
        proof.map((h, j) => (i === j ? flipBit(h) : h)),
        r1,
        r2,
      ]),
    ];
    if (from > 1) mutants.push([from - 1, to, proof, r1, r2]);
    if (from + 1 < to) mutants.push([from + 1, to, proof, r1, r2]);
    for (const [a, b, p, x, y] of mutants) {
      expect(() => verifyConsistency(a, b, p, x, y), `mutant ${a}->${b} len=${p.length}`).toThrow();
    }
  });
});

describe("a tree head extending the empty tree", () => {
  const tree = treeOf(5);
  it("every tree extends the empty tree, whose root must be the empty root", () => {
    verifyExtends(0, 5, [], EMPTY_ROOT, tree.root(5));
    verifyExtends(0, 0, [], EMPTY_ROOT, EMPTY_ROOT);
    expect(() => verifyExtends(0, 5, [], tree.root(1), tree.root(5))).toThrow(RootMismatchError);
    expect(() => verifyExtends(0, 0, [], EMPTY_ROOT, tree.root(1))).toThrow(RootMismatchError);
    expect(() => verifyExtends(0, 5, [EMPTY_ROOT], EMPTY_ROOT, tree.root(5))).toThrow(
      /wrong proof size 1, want 0/,
    );
  });
  it("between non-empty trees it is a consistency check", () => {
    const proof = consistencyPath(tree.source, 2, 5);
    verifyExtends(2, 5, proof, tree.root(2), tree.root(5));
    expect(() => verifyExtends(2, 5, proof, tree.root(3), tree.root(5))).toThrow(RootMismatchError);
  });
});
