import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, readFileSync, readdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  auditFileLedger,
  CheckpointMismatchError,
  FileLedger,
  LedgerCorruptError,
} from "../../src/ledger/file/index.ts";
import { entries, tempDir } from "./fixtures.ts";

let dir: string;
let remove: () => void;
const warnings: string[] = [];
const open = (options = {}) => FileLedger.open(dir, { warn: (m) => warnings.push(m), ...options });
const segmentPath = () => join(dir, "segments", readdirSync(join(dir, "segments"))[0] ?? "");

/** Byte offset of entry `index`'s leaf in the first segment (records are header(64) + leaf). */
async function leafOffset(index: number): Promise<number> {
  const slots = readFileSync(join(dir, "index"));
  return Number(slots.readBigUInt64BE(index * 64)) + 64;
}

async function ledgerWith(count: number): Promise<void> {
  const ledger = await open();
  await ledger.append(entries(0, count));
  await ledger.close();
}

function editByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x20;
  writeFileSync(path, bytes);
}

beforeEach(() => {
  ({ dir, remove } = tempDir());
  warnings.length = 0;
});
afterEach(() => remove());

describe("tamper evidence", () => {
  it("reports an edited byte in an entry with its index, on read and in the audit", async () => {
    await ledgerWith(20);
    editByte(segmentPath(), (await leafOffset(7)) + 30);
    const audit = await auditFileLedger(dir);
    expect(audit.problem).toMatchObject({ index: 7 });
    expect(audit.problem?.message).toMatch(/leaf hash .* does not match/);
    const ledger = await open();
    await expect(ledger.get(7)).rejects.toThrow(LedgerCorruptError);
    await expect(ledger.get(7)).rejects.toThrow(/entry 7/);
    expect((await ledger.get(6)).index).toBe(6);
    await ledger.close();
  });

  it("reports two swapped records with the first index that moved", async () => {
    await ledgerWith(10);
    const seg = readFileSync(segmentPath());
    const slots = readFileSync(join(dir, "index"));
    const at = (i: number) => Number(slots.readBigUInt64BE(i * 64));
    const a = seg.subarray(at(3), at(4));
    const b = seg.subarray(at(4), at(5));
    writeFileSync(segmentPath(), Buffer.concat([seg.subarray(0, at(3)), b, a, seg.subarray(at(5))]));
    const audit = await auditFileLedger(dir);
    expect(audit.problem?.index).toBe(3);
  });

  it("reports a record removed from the middle", async () => {
    await ledgerWith(10);
    const seg = readFileSync(segmentPath());
    const slots = readFileSync(join(dir, "index"));
    const at = (i: number) => Number(slots.readBigUInt64BE(i * 64));
    writeFileSync(segmentPath(), Buffer.concat([seg.subarray(0, at(5)), seg.subarray(at(6))]));
    expect((await auditFileLedger(dir)).problem?.index).toBe(5);
  });

  it("refuses to open when acknowledged bytes were truncated, naming the last entry", async () => {
    await ledgerWith(10);
    const size = readFileSync(segmentPath()).byteLength;
    truncateSync(segmentPath(), size - 10);
    await expect(open()).rejects.toThrow(/entry 9: record needs bytes up to offset \d+ but the segments end/);
    expect(readFileSync(segmentPath()).byteLength).toBe(size - 10);
  });

  it("refuses to open when history was rewritten under a signed checkpoint", async () => {
    await ledgerWith(6);
    const first = await open();
    const checkpoint = await first.checkpoint();
    await first.close();
    const other = tempDir();
    try {
      const stolenKey = { signingKeyPath: join(dir, "checkpoint-key.pem") };
      const forged = await FileLedger.open(other.dir, stolenKey);
      await forged.append(entries(100, 6));
      await forged.close();
      writeFileSync(join(other.dir, "checkpoint.json"), JSON.stringify(checkpoint));
      await expect(FileLedger.open(other.dir, stolenKey)).rejects.toThrow(CheckpointMismatchError);
      const audit = await auditFileLedger(other.dir);
      expect(audit.problem?.message).toMatch(/history was rewritten/);
    } finally {
      other.remove();
    }
  });

  it("detects entries removed after a checkpoint was signed", async () => {
    await ledgerWith(8);
    const ledger = await open();
    await ledger.checkpoint();
    await ledger.close();
    const slots = readFileSync(join(dir, "index"));
    const cut = Number(slots.readBigUInt64BE(6 * 64));
    truncateSync(segmentPath(), cut);
    truncateSync(join(dir, "index"), 6 * 64);
    await expect(open()).rejects.toThrow(/it has 6 entries but a checkpoint at size 8 was signed/);
  });

  it("leaves the audit clean on an untouched ledger and reports size and root", async () => {
    await ledgerWith(33);
    const ledger = await open();
    const checkpoint = await ledger.checkpoint();
    const root = await ledger.root();
    await ledger.close();
    const audit = await auditFileLedger(dir, [checkpoint]);
    expect(audit).toEqual({ size: 33, root, keyId: checkpoint.keyId, checkpointsChecked: 2 });
  });
});

describe("crash recovery", () => {
  it("truncates a torn final record with a warning that gives the byte count", async () => {
    await ledgerWith(5);
    const torn = Buffer.concat([Buffer.from("MCL1"), Buffer.alloc(30, 7)]);
    appendFileSync(segmentPath(), torn);
    const ledger = await open();
    expect(await ledger.size()).toBe(5);
    expect(warnings).toContainEqual(
      expect.stringMatching(/truncated 34 bytes of a torn, never acknowledged record at entry 5/),
    );
    await ledger.append(entries(5, 2));
    await ledger.close();
    expect((await auditFileLedger(dir)).problem).toBeUndefined();
  });

  it("re-indexes records that were durable when the index write was lost", async () => {
    await ledgerWith(9);
    truncateSync(join(dir, "index"), 6 * 64 + 17);
    const ledger = await open();
    expect(await ledger.size()).toBe(9);
    expect(warnings.filter((w) => /re-indexed/.test(w))).toEqual([
      "re-indexed entries 6..8: their records were durable but the index writes were lost",
    ]);
    expect((await ledger.append(entries(7, 1)))[0]).toMatchObject({ index: 7, duplicate: true });
    await ledger.close();
    expect((await auditFileLedger(dir)).problem).toBeUndefined();
  });

  it("rebuilds tree levels that a crash left short", async () => {
    await ledgerWith(64);
    const before = await open({ readOnly: true });
    const root = await before.root();
    await before.close();
    truncateSync(join(dir, "tree", "level-01"), 5 * 32);
    const ledger = await open();
    expect(await ledger.root()).toBe(root);
    const reader = await open({ readOnly: true });
    expect(await ledger.root(40)).toBe(await reader.root(40));
    await reader.close();
    await ledger.close();
  });

  it("refuses unrecognised bytes after the last entry instead of truncating them", async () => {
    await ledgerWith(3);
    appendFileSync(segmentPath(), Buffer.from("this is not a record at all, it was put here by hand"));
    await expect(open()).rejects.toThrow(/unrecognised bytes at offset \d+ after the last entry/);
  });
});
