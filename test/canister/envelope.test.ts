import { Principal } from "@dfinity/principal";
import { describe, expect, it } from "vitest";
import { canonicalBytes } from "../../src/ledger/entry.ts";
import { envelopeBytes } from "../../src/ledger/envelope.ts";
import { toHex } from "../../src/ledger/hash.ts";
import { hashLeaf } from "../../src/ledger/merkle.ts";
import { MemoryTree } from "../../src/ledger/memory-tree.ts";
import { blobLiteral, runMotoko, textLiteral } from "./motoko.ts";

// A small seeded PRNG (mulberry32) so a failure can be replayed from the printed seed.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ["a", "Z", "0", " ", '"', "\\", "\n", "\u0001", "é", "ß", "日", "😀", "\u2028", "/", "<"];

type Sample = { entry: Uint8Array; recordedAt: string; recordedBy: string };

function sample(rand: () => number, i: number): Sample {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const note = Array.from({ length: Math.floor(rand() * 12) }, () => pick(ALPHABET)).join("");
  const entry = canonicalBytes({
    key: `k-${i}`,
    note,
    n: Math.floor(rand() * 1e9) - 5e8,
    ok: rand() < 0.5,
    nested: { z: 1, a: [i] },
  });
  const recordedAt = (BigInt(Math.floor(rand() * 2 ** 32)) * 2n ** 31n + BigInt(i)).toString();
  const principal = Principal.fromUint8Array(
    Uint8Array.from({ length: pick([1, 10, 29]) }, () => Math.floor(rand() * 256)),
  );
  return { entry, recordedAt, recordedBy: principal.toText() };
}

function motokoLeaf(s: Sample): string {
  return `E.leaf(${blobLiteral(s.entry)}, ${s.recordedAt}, ${textLiteral(s.recordedBy)})`;
}

const header = `import E "Envelope"; import M "Merkle"; import H "Hex"; import Debug "mo:core/Debug";`;

describe("Envelope.mo", () => {
  it("builds the same leaf bytes as the TypeScript envelope, byte for byte", () => {
    const seed = 20261125;
    const rand = prng(seed);
    const samples = Array.from({ length: 12 }, (_, i) => sample(rand, i));
    const body = samples.map((s) => `Debug.print(H.encode(${motokoLeaf(s)}));`).join("\n");
    const out = runMotoko("EnvelopeBytes.mo", `${header}\n${body}`).split("\n").slice(0, samples.length);
    expect(out, `seed ${seed}`).toEqual(
      samples.map((s) => toHex(envelopeBytes(s.entry, s.recordedAt, s.recordedBy))),
    );
  });

  it("accepts JSON objects in UTF-8 and refuses anything else, saying why", () => {
    const cases: [Uint8Array, string][] = [
      [Buffer.from('{"key":"a"}'), "null"],
      [Buffer.from("{}"), "null"],
      [Buffer.from("[1]"), "?\"entry does not start with '{'\""],
      [Buffer.from('{"a":1'), "?\"entry does not end with '}'\""],
      [Buffer.from("{"), '?"entry is shorter than a JSON object"'],
      [Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), '?"entry is not valid UTF-8"'],
    ];
    const body = cases.map(([b]) => `Debug.print(debug_show(E.checkEntry(${blobLiteral(b)})));`).join("\n");
    const out = runMotoko("EnvelopeCheck.mo", `${header}\n${body}`).split("\n").slice(0, cases.length);
    expect(out).toEqual(cases.map(([, want]) => want));
  });

  it("the Motoko tree and the TypeScript tree agree on the roots of 200 random envelopes", () => {
    const seed = Number(process.env["CANISTER_SEED"] ?? 6962);
    const rand = prng(seed);
    const samples = Array.from({ length: 200 }, (_, i) => sample(rand, i));
    const checkpoints = new Set([1, 2, 3, 7, 8, 9, 50, 64, 100, 127, 128, 129, 200]);
    const tree = new MemoryTree();
    const want: string[] = [];
    const body: string[] = ["let t = M.MemoryTree();"];
    samples.forEach((s, i) => {
      tree.appendLeafHash(hashLeaf(envelopeBytes(s.entry, s.recordedAt, s.recordedBy)));
      body.push(`t.add(${motokoLeaf(s)});`);
      if (checkpoints.has(i + 1)) {
        want.push(`${i + 1} ${toHex(tree.root())}`);
        body.push(`Debug.print("${i + 1} " # H.encode(t.root()));`);
      }
    });
    const out = runMotoko("EnvelopeTree.mo", `${header}\n${body.join("\n")}`)
      .split("\n")
      .slice(0, want.length);
    expect(out, `seed ${seed}`).toEqual(want);
  }, 240_000);
});
