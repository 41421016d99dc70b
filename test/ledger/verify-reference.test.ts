// The proof verifiers against the probes transparency-dev/merkle's reference verifier is held to:
// each published proof must verify, and every corrupted variant of it must not — wrong index or
// sizes, wrong or swapped roots, elements added in front or behind, removed, inserted or with a
// flipped bit, empty and wrong-length hashes, and the degenerate trees of size 0 and 1. The
// corruptions are built here from the vectors in rfc6962.json, mirroring the reference's own.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hashLeaf } from "../../src/ledger/merkle.ts";
import { verifyConsistency, verifyInclusion } from "../../src/ledger/verify.ts";

interface Vectors {
  leafHashes: string[];
  roots: string[];
  reference: {
    inclusion: Array<{ index: number; size: number; proof: string[] }>;
    consistency: Array<{ from: number; to: number; proof: string[] }>;
  };
}
const VECTORS = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "vectors", "rfc6962.json"), "utf8"),
) as Vectors;

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));
const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"));
const EMPTY_TREE_ROOT = hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
const SOME_HASH = hex("abacaba000000000000000000000000000000000000000000060061e00123456");
const NO_BYTES = new Uint8Array(0);
const rootOfSize = (n: number): Uint8Array => hex(VECTORS.roots[n] ?? "");

function flipped(proof: Uint8Array[], at: number, mask: number): Uint8Array[] {
  return proof.map((h, i) => {
    if (i !== at) return h;
    const copy = Uint8Array.from(h);
    copy[0] = (copy[0] ?? 0) ^ mask;
    return copy;
  });
}

interface InclusionProbe {
  desc: string;
  index: number;
  size: number;
  leafHash: Uint8Array;
  proof: Uint8Array[];
  root: Uint8Array;
  wantError: boolean;
}

function corruptedInclusion(happy: InclusionProbe): InclusionProbe[] {
  const { index, size, proof, root } = happy;
  const bad = (desc: string, change: Partial<InclusionProbe>): InclusionProbe => ({
    ...happy,
    ...change,
    desc: `${happy.desc}: ${desc}`,
    wantError: true,
  });
  const probes = [
    bad("index - 1", { index: index - 1 }),
    bad("index + 1", { index: index + 1 }),
    bad("index XOR 2", { index: index ^ 2 }),
    bad("size * 2", { size: size * 2 }),
    bad("size / 2", { size: Math.floor(size / 2) }),
    bad("wrong leaf", { leafHash: text("WrongLeaf") }),
    bad("empty tree root", { root: EMPTY_TREE_ROOT }),
    bad("random root", { root: SOME_HASH }),
    bad("trailing garbage", { proof: [...proof, NO_BYTES] }),
    bad("trailing root", { proof: [...proof, root] }),
    bad("preceding garbage", { proof: [NO_BYTES, ...proof] }),
    bad("preceding root", { proof: [root, ...proof] }),
    ...proof.map((_, i) => bad(`proof[${i}] bit 3 flipped`, { proof: flipped(proof, i, 8) })),
  ];
  if (proof.length > 0) probes.push(bad("last element removed", { proof: proof.slice(0, -1) }));
  if (proof.length > 1)
    probes.push(bad("element inserted", { proof: [proof[0] ?? NO_BYTES, SOME_HASH, ...proof.slice(1)] }));
  return probes;
}

function inclusionProbes(): InclusionProbe[] {
  const fromVectors = VECTORS.reference.inclusion.flatMap(({ index, size, proof }) => {
    const happy: InclusionProbe = {
      desc: `leaf ${index} of ${size}`,
      index,
      size,
      leafHash: hex(VECTORS.leafHashes[index] ?? ""),
      proof: proof.map(hex),
      root: rootOfSize(size),
      wantError: false,
    };
    return [happy, ...corruptedInclusion(happy)];
  });
  const single = hashLeaf(text("data"));
  const oneLeaf = (desc: string, root: Uint8Array, leafHash: Uint8Array, wantError: boolean) => ({
    desc: `one-leaf tree: ${desc}`,
    index: 0,
    size: 1,
    leafHash,
    proof: [],
    root,
    wantError,
  });
  const degenerate = [
    [0, 0],
    [0, 1],
    [1, 0],
    [2, 1],
  ].flatMap(([index = 0, size = 0]) =>
    [
      { desc: `${index}/${size}: random leaf, no root`, leafHash: SOME_HASH, root: NO_BYTES },
      { desc: `${index}/${size}: empty leaf hash`, leafHash: NO_BYTES, root: EMPTY_TREE_ROOT },
      { desc: `${index}/${size}: random leaf, empty tree root`, leafHash: SOME_HASH, root: EMPTY_TREE_ROOT },
    ].map((p) => ({ ...p, index, size, proof: [], wantError: true })),
  );
  return [
    ...fromVectors,
    oneLeaf("root and leaf match", single, single, false),
    oneLeaf("empty leaf hash", single, NO_BYTES, true),
    oneLeaf("empty root", NO_BYTES, single, true),
    oneLeaf("empty root and empty leaf hash", NO_BYTES, NO_BYTES, true),
    ...degenerate,
  ];
}

interface ConsistencyProbe {
  desc: string;
  size1: number;
  size2: number;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: Uint8Array[];
  wantError: boolean;
}

function corruptedConsistency(happy: ConsistencyProbe): ConsistencyProbe[] {
  const { size1, size2, root1, root2, proof } = happy;
  const bad = (desc: string, change: Partial<ConsistencyProbe>): ConsistencyProbe => ({
    ...happy,
    ...change,
    desc: `${happy.desc}: ${desc}`,
    wantError: true,
  });
  return [
    bad("size1 - 1", { size1: size1 - 1 }),
    bad("size1 + 1", { size1: size1 + 1 }),
    bad("size1 XOR 2", { size1: size1 ^ 2 }),
    bad("size2 * 2", { size2: size2 * 2 }),
    bad("size2 / 2", { size2: Math.floor(size2 / 2) }),
    bad("wrong root1", { root1: text("WrongRoot") }),
    bad("wrong root2", { root2: text("WrongRoot") }),
    bad("swapped roots", { root1: root2, root2: root1 }),
    bad("empty proof", { proof: [] }),
    bad("trailing garbage", { proof: [...proof, NO_BYTES] }),
    bad("trailing root1", { proof: [...proof, root1] }),
    bad("trailing root2", { proof: [...proof, root2] }),
    bad("preceding garbage", { proof: [NO_BYTES, ...proof] }),
    bad("preceding root1", { proof: [root1, ...proof] }),
    bad("preceding root2", { proof: [root2, ...proof] }),
    bad("preceding proof[0]", { proof: [proof[0] ?? NO_BYTES, ...proof] }),
    bad("truncated", { proof: proof.slice(0, -1) }),
    ...proof.map((_, i) => bad(`proof[${i}] bit 4 flipped`, { proof: flipped(proof, i, 16) })),
  ];
}

function consistencyProbes(): ConsistencyProbe[] {
  const fromVectors = VECTORS.reference.consistency.flatMap(({ from, to, proof }) => {
    const happy: ConsistencyProbe = {
      desc: `${from} -> ${to}`,
      size1: from,
      size2: to,
      root1: rootOfSize(from),
      root2: rootOfSize(to),
      proof: proof.map(hex),
      wantError: false,
    };
    // As in the reference, only proofs between different trees get corrupted variants.
    return proof.length === 0 ? [happy] : [happy, ...corruptedConsistency(happy)];
  });
  const one = text("don't care 1");
  const two = text("don't care 2");
  const probe = (
    desc: string,
    [size1, size2]: [number, number],
    [root1, root2]: [Uint8Array, Uint8Array],
    proof: Uint8Array[],
    wantError = true,
  ): ConsistencyProbe => ({ desc, size1, size2, root1, root2, proof, wantError });
  return [
    ...fromVectors,
    probe("sizes equal (0), roots differ", [0, 0], [one, two], []),
    probe("sizes equal (1), roots differ", [1, 1], [one, two], []),
    probe("sizes equal (0), same roots, empty proof", [0, 0], [one, one], []),
    probe("size1 0, size2 1", [0, 1], [one, two], []),
    probe("sizes equal (1), same roots, empty proof", [1, 1], [two, two], [], false),
    probe("size1 > size2 (1 > 0)", [1, 0], [one, two], []),
    probe("size1 > size2 (2 > 1)", [2, 1], [one, two], []),
    probe("sizes differ, empty proof", [1, 2], [one, two], []),
    probe("sizes 0, roots differ from the empty root", [0, 0], [EMPTY_TREE_ROOT, two], []),
    probe("sizes 1, roots differ", [1, 1], [EMPTY_TREE_ROOT, two], []),
    probe("sizes 0, proof not empty", [0, 0], [EMPTY_TREE_ROOT, EMPTY_TREE_ROOT], [EMPTY_TREE_ROOT]),
    probe("sizes 1, proof not empty", [1, 1], [EMPTY_TREE_ROOT, EMPTY_TREE_ROOT], [EMPTY_TREE_ROOT]),
    probe("from the empty tree to size 1", [0, 1], [EMPTY_TREE_ROOT, two], []),
    probe("from the empty tree, with a proof", [0, 1], [EMPTY_TREE_ROOT, EMPTY_TREE_ROOT], [EMPTY_TREE_ROOT]),
  ];
}

const outcome = (check: () => void): "ok" | "error" => {
  try {
    check();
    return "ok";
  } catch {
    return "error";
  }
};

describe("inclusion verification matches the reference verifier's probes", () => {
  it.each(inclusionProbes().map((p) => [p.desc, p] as const))("%s", (_, p) => {
    expect(outcome(() => verifyInclusion(p.index, p.size, p.leafHash, p.proof, p.root))).toBe(
      p.wantError ? "error" : "ok",
    );
  });
});

describe("consistency verification matches the reference verifier's probes", () => {
  it.each(consistencyProbes().map((p) => [p.desc, p] as const))("%s", (_, p) => {
    expect(outcome(() => verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2))).toBe(
      p.wantError ? "error" : "ok",
    );
  });
});
