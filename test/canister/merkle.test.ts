import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { blobLiteral, repoRoot, runMotoko } from "./motoko.ts";

type Vectors = {
  leaves: string[];
  leafHashes: string[];
  roots: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { from: number; to: number; proof: string[] }[];
};
const v: Vectors = JSON.parse(readFileSync(join(repoRoot, "test/vectors/rfc6962.json"), "utf8"));

const header = `import M "Merkle"; import H "Hex"; import Debug "mo:core/Debug"; import Array "mo:core/Array";
func show(p : [Blob]) : Text { Array.foldLeft<Blob, Text>(p, "", func(acc, h) = acc # (if (acc == "") "" else ",") # H.encode(h)) };
let t = M.MemoryTree();`;
const addLeaves = v.leaves.map((l) => `t.add(${blobLiteral(Buffer.from(l, "hex"))});`).join("\n");

function lines(name: string, body: string): string[] {
  return runMotoko(name, `${header}\n${body}`).split("\n");
}

describe("Merkle.mo (RFC 6962)", () => {
  it("leaf hashes and the root of every size 0..8 match the published vectors", () => {
    const body = [`Debug.print(H.encode(t.root()));`];
    v.leaves.forEach((l) => {
      body.push(`t.add(${blobLiteral(Buffer.from(l, "hex"))}); Debug.print(H.encode(t.root()));`);
      body.push(`Debug.print(H.encode(M.leafHash(${blobLiteral(Buffer.from(l, "hex"))})));`);
    });
    const out = lines("MerkleRoots.mo", body.join("\n")).slice(0, 1 + 2 * v.leaves.length);
    const roots = [out[0], ...out.slice(1).filter((_, i) => i % 2 === 0)];
    const leafHashes = out.slice(1).filter((_, i) => i % 2 === 1);
    expect(roots).toEqual(v.roots);
    expect(leafHashes).toEqual(v.leafHashes);
  });

  it("every inclusion proof in the 8-leaf tree matches the vectors", () => {
    const body = v.inclusion.map(
      (c) => `Debug.print(show(M.inclusionProof(t.store, ${c.index}, ${c.size})));`,
    );
    const out = lines("MerkleInclusion.mo", `${addLeaves}\n${body.join("\n")}`);
    expect(out.slice(0, v.inclusion.length)).toEqual(v.inclusion.map((c) => c.proof.join(",")));
  });

  it("every consistency proof in the 8-leaf tree matches the vectors", () => {
    const body = v.consistency.map(
      (c) => `Debug.print(show(M.consistencyProof(t.store, ${c.from}, ${c.to})));`,
    );
    const out = lines("MerkleConsistency.mo", `${addLeaves}\n${body.join("\n")}`);
    expect(out.slice(0, v.consistency.length)).toEqual(v.consistency.map((c) => c.proof.join(",")));
  });
});
