import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { blobLiteral, repoRoot, runMotoko } from "./motoko.ts";

type Case = { name: string; text: string; repeat: number; digest: string };
const vectors: { cases: Case[] } = JSON.parse(
  readFileSync(join(repoRoot, "test/vectors/sha256.json"), "utf8"),
);

// The interpreter hashes about 2 KB/s, so messages above this size are left to node:crypto
// (gen-sha256.ts checks the million-'a' digest there); a 1000-byte message stands in for it.
const INTERPRETER_BYTES = 1200;

function motokoDigests(messages: Uint8Array[]): string[] {
  const lines = messages.map((m) => `Debug.print(H.encode(S.hash(${blobLiteral(m)})));`);
  const program = `import S "Sha256"; import H "Hex"; import Debug "mo:core/Debug";\n${lines.join("\n")}`;
  return runMotoko("Sha256Test.mo", program).trim().split("\n").slice(0, messages.length);
}

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

describe("Sha256.mo", () => {
  it("gives the FIPS 180-4 example digests", () => {
    const cases = vectors.cases.filter((c) => c.text.length * c.repeat <= INTERPRETER_BYTES);
    expect(cases.length).toBeGreaterThanOrEqual(4);
    const got = motokoDigests(cases.map((c) => Buffer.from(c.text.repeat(c.repeat))));
    expect(got).toEqual(cases.map((c) => c.digest));
  });

  it("agrees with node:crypto at every padding boundary and on a 1000-byte message", () => {
    const lengths = [1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
    const messages = lengths.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
    expect(motokoDigests(messages)).toEqual(messages.map(sha));
  });

  it("hashParts equals the hash of the concatenation", () => {
    const parts = [Buffer.from([0]), Buffer.from("a".repeat(70)), Buffer.alloc(0), Buffer.from("tail")];
    const program = `import S "Sha256"; import H "Hex"; import Debug "mo:core/Debug";
Debug.print(H.encode(S.hashParts([${parts.map(blobLiteral).join(", ")}])));`;
    expect(runMotoko("Sha256Parts.mo", program).split("\n")[0]).toBe(sha(Buffer.concat(parts)));
  });
});
