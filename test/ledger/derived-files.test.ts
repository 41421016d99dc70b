// The index and tree levels are derived files, written after the segments' fsync: after a
// power loss they can read back as zeros. Nothing in them may be served before it is checked.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { auditFileLedger, FileLedger } from "../../src/ledger/file/index.ts";
import { hashFromHex, verifyInclusion } from "../../src/ledger/index.ts";
import { entries, tempDir } from "./fixtures.ts";
import { zeroIndexSlots, zeroTreeNode } from "./disk-edits.ts";

let dir: string;
let remove: () => void;
const warnings: string[] = [];
const open = (options = {}) => FileLedger.open(dir, { warn: (m) => warnings.push(m), ...options });
const levelFile = (level: number) => join(dir, "tree", `level-${String(level).padStart(2, "0")}`);

async function ledgerWith(count: number): Promise<void> {
  const ledger = await open();
  await ledger.append(entries(0, count));
  await ledger.close();
}

/** What an honest reader serves: roots at every size and the proof of every 7th entry. */
async function served(ledger: FileLedger, size: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let n = 0; n <= size; n++) out.push(await ledger.root(n));
  for (let i = 0; i < size; i += 7) out.push(await ledger.inclusionProof(i, size));
  return out;
}

beforeEach(() => {
  ({ dir, remove } = tempDir());
  warnings.length = 0;
});
afterEach(() => remove());

describe("derived files", () => {
  it("a zeroed tree node is never served: a reader computes around it, a writer rebuilds it", async () => {
    await ledgerWith(64);
    const honest = await open({ readOnly: true });
    const want = await served(honest, 64);
    await honest.close();
    const before = readFileSync(levelFile(2));
    zeroTreeNode(dir, 2, 3);
    const reader = await open({ readOnly: true });
    expect(await served(reader, 64)).toEqual(want);
    const proof = await reader.inclusionProof(13, 64);
    verifyInclusion(
      13,
      64,
      hashFromHex(proof.leafHash),
      proof.auditPath.map((h) => hashFromHex(h)),
      hashFromHex(proof.root),
    );
    await reader.close();
    expect(warnings).toContainEqual(
      expect.stringMatching(/tree level 2 node 3 does not match the entries.*computed from the level below/),
    );
    const writer = await open();
    await writer.close();
    expect(warnings).toContainEqual(
      expect.stringMatching(/tree level 2 node 3 does not match the entries.*rebuilt from there/),
    );
    expect(readFileSync(levelFile(2)).equals(before)).toBe(true);
  });

  it("zeroed index slots make a reader refuse, saying what to do, and a writer rebuild them from the segments", async () => {
    await ledgerWith(64);
    zeroIndexSlots(dir, 50, 14);
    await expect(open({ readOnly: true })).rejects.toThrow(
      /index slot 50 does not follow entry 49 .* a writable open rebuilds the index from the segments/,
    );
    const writer = await open();
    expect(await writer.size()).toBe(64);
    expect((await writer.lookup("key-55"))?.index).toBe(55);
    await writer.close();
    expect(warnings).toContainEqual(
      "index slots from entry 50 on (14) were not on disk after a crash: rebuilt from the segments",
    );
    expect((await auditFileLedger(dir)).problem).toBeUndefined();
  });

  it("tree nodes written after the last sync are recomputed at open; the audit recomputes all of them", async () => {
    const acknowledged = await appendUntilKilled(dir);
    expect(acknowledged).toBeGreaterThan(8);
    expect(existsSync(join(dir, "synced.json"))).toBe(false);
    const level1 = readFileSync(levelFile(1));
    level1[2 * 32 + 5] = (level1[2 * 32 + 5] ?? 0) ^ 0x01;
    writeFileSync(levelFile(1), level1);
    expect((await auditFileLedger(dir)).problem?.message).toMatch(/stored tree node at level 1 #2 differs/);
    const writer = await open();
    const size = await writer.size();
    await writer.close();
    expect(warnings).toContainEqual(expect.stringMatching(/tree level 1 node 2 does not match.*rebuilt/));
    expect(JSON.parse(readFileSync(join(dir, "synced.json"), "utf8"))).toEqual({ size });
    expect((await auditFileLedger(dir)).problem).toBeUndefined();
  });
});

const child = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

/** Runs the appending child until it has acknowledged a few batches, kills it, returns how many. */
function appendUntilKilled(into: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, into, "derived"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split("\nACK ").length > 4) proc.kill("SIGKILL");
    });
    proc.on("error", reject);
    proc.on("exit", () =>
      resolve(
        out
          .split("\n")
          .filter((l) => l.startsWith("ACK "))
          .reduce((n, l) => n + Number(l.split(" ")[1]), 0),
      ),
    );
  });
}
