import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { FileLedger, LedgerLockedError } from "../../src/ledger/file/index.ts";
import {
  hashFromHex,
  hashLeaf,
  MemoryTree,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from "../../src/ledger/index.ts";
import { entries, sampleEntry, tempDir } from "./fixtures.ts";

let dir: string;
let remove: () => void;
const warnings: string[] = [];
const open = (options = {}) => FileLedger.open(dir, { warn: (m) => warnings.push(m), ...options });

beforeEach(() => {
  ({ dir, remove } = tempDir());
  warnings.length = 0;
});
afterEach(() => remove());

describe("file ledger appends", () => {
  it("returns receipts whose root is the RFC 6962 root of the recorded leaves", async () => {
    const ledger = await open();
    const receipts = await ledger.append(entries(0, 5));
    expect(receipts.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    const tree = new MemoryTree();
    for (let i = 0; i < 5; i++) {
      const stored = await ledger.get(i);
      expect(toHex(hashLeaf(stored.leaf))).toBe(receipts[i]?.leafHash);
      expect(stored.envelope.entry).toEqual(sampleEntry(i));
      expect(stored.envelope.recordedBy).toMatch(/^file:[0-9a-f]{32}$/);
      tree.appendLeafHash(hashLeaf(stored.leaf));
    }
    expect(receipts.every((r) => r.size === 5 && r.root === toHex(tree.root()) && !r.duplicate)).toBe(true);
    await ledger.close();
  });

  it("returns the existing receipt for a key already recorded, in the same batch and across reopen", async () => {
    let ledger = await open();
    const [first] = await ledger.append([sampleEntry(1)]);
    const again = await ledger.append([
      sampleEntry(2),
      { ...sampleEntry(1), data: { other: true } },
      sampleEntry(2),
    ]);
    expect(again.map((r) => [r.index, r.duplicate])).toEqual([
      [1, false],
      [0, true],
      [1, true],
    ]);
    expect(again[1]?.leafHash).toBe(first?.leafHash);
    await ledger.close();
    ledger = await open();
    const afterReopen = await ledger.append([sampleEntry(1)]);
    expect(afterReopen[0]).toMatchObject({ index: 0, duplicate: true, size: 2 });
    expect(await ledger.size()).toBe(2);
    expect((await ledger.lookup("key-2"))?.index).toBe(1);
    expect(await ledger.lookup("key-404")).toBeUndefined();
    await ledger.close();
  });

  it("commits concurrent appends in groups without losing or duplicating any", async () => {
    const ledger = await open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => ledger.append([sampleEntry(i % 150)])),
    );
    const indexes = new Set(results.map((r) => r[0]?.index));
    expect(indexes.size).toBe(150);
    expect(await ledger.size()).toBe(150);
    await ledger.close();
  });

  it("answers lookups while a commit is in flight, finding only what is recorded", async () => {
    const ledger = await open();
    const [first] = await ledger.append(entries(0, 2));
    const appending = ledger.append(entries(2, 50));
    // Microtasks only: the commit gets as far as its fsync, whose completion needs the event loop.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    const during = await Promise.all([
      ledger.lookup("key-1"),
      ledger.lookup("key-30"),
      ledger.lookup("key-51"),
    ]);
    expect(during[0]?.index).toBe(1);
    // The commit's tree nodes are computed while its fsync is in flight: what is served meanwhile
    // is still the recorded tree's size and root.
    expect(during[0]?.size).toBe(2);
    expect(during[0]?.root).toBe(first?.root);
    expect(await ledger.root()).toBe(first?.root);
    expect(during.slice(1).every((r) => r === undefined || r.index >= 2)).toBe(true);
    await appending;
    expect((await ledger.lookup("key-51"))?.index).toBe(51);
    await ledger.close();
  });

  it("rejects invalid entries naming the field, and records nothing", async () => {
    const ledger = await open();
    await expect(ledger.append([{ ...sampleEntry(1), key: "" }])).rejects.toThrow(
      /key must be a non-empty string/,
    );
    await expect(ledger.append([sampleEntry(2), JSON.parse("[1]")])).rejects.toThrow(/must be a JSON object/);
    await expect(
      ledger.append([{ ...sampleEntry(3), data: { blob: "x".repeat(1024 * 1024) } }]),
    ).rejects.toThrow(/over the 1048576-byte limit/);
    expect(await ledger.size()).toBe(0);
    await ledger.close();
  });
});

describe("file ledger proofs", () => {
  it("serves inclusion and consistency proofs that verify, before and after reopen", async () => {
    let ledger = await open();
    for (let batch = 0; batch < 10; batch++) await ledger.append(entries(batch * 13, 13));
    const check = async (l: FileLedger) => {
      for (const [index, size] of [
        [0, 1],
        [5, 77],
        [129, 130],
        [64, 128],
        [100, 130],
      ] as const) {
        const p = await l.inclusionProof(index, size);
        verifyInclusion(
          index,
          size,
          hashFromHex(p.leafHash),
          p.auditPath.map((h) => hashFromHex(h)),
          hashFromHex(await l.root(size)),
        );
      }
      for (const [from, to] of [
        [1, 130],
        [64, 65],
        [77, 129],
        [130, 130],
      ] as const) {
        const c = await l.consistencyProof(from, to);
        verifyConsistency(
          from,
          to,
          c.proof.map((h) => hashFromHex(h)),
          hashFromHex(c.fromRoot),
          hashFromHex(c.toRoot),
        );
      }
    };
    await check(ledger);
    const root = await ledger.root();
    await ledger.close();
    ledger = await open();
    expect(await ledger.root()).toBe(root);
    await check(ledger);
    await ledger.close();
  });

  it("refuses proofs beyond the tree with the sizes in the message", async () => {
    const ledger = await open();
    await ledger.append(entries(0, 3));
    await expect(ledger.inclusionProof(3)).rejects.toThrow(/index 3 out of range for size 3/);
    await expect(ledger.root(4)).rejects.toThrow(/size 4 is beyond the ledger size 3/);
    await ledger.close();
  });
});

describe("single writer", () => {
  it("refuses a second writer naming the holder pid, and allows readers", async () => {
    const writer = await open();
    await writer.append(entries(0, 2));
    await expect(open()).rejects.toThrow(LedgerLockedError);
    await expect(open()).rejects.toThrow(new RegExp(`pid ${process.pid}`));
    const reader = await open({ readOnly: true });
    expect(await reader.size()).toBe(2);
    await expect(reader.append(entries(5, 1))).rejects.toThrow(/read-only/);
    await reader.close();
    await writer.close();
    await (await open()).close();
  });

  it("takes over a lock left by a dead process, and says so", async () => {
    const { writeFileSync } = await import("node:fs");
    const { hostname } = await import("node:os");
    await (await open()).close();
    const generation = 9;
    writeFileSync(
      join(dir, "lock", generation.toString(16).padStart(16, "0")),
      JSON.stringify({ generation, pid: 2 ** 22 + 12345, host: hostname() }),
    );
    const ledger = await open();
    expect(warnings.some((w) => /stale write lock/.test(w))).toBe(true);
    await ledger.close();
  });

  it("reports a directory without a ledger when opened read-only", async () => {
    await expect(FileLedger.open(join(dir, "missing"), { readOnly: true })).rejects.toThrow(
      /holds no ledger/,
    );
  });
});
