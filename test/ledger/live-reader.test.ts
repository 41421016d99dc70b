// Readers beside a live writer: `verify` (the on-disk audit) and read-only opens, run again and
// again while another process appends and signs a checkpoint after every commit, each see a
// consistent prefix that the next one extends.
import { appendFileSync, readdirSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { auditFileLedger, FileLedger } from "../../src/ledger/file/index.ts";
import { EMPTY_ROOT, hashFromHex, toHex, verifyExtends } from "../../src/ledger/index.ts";
import { entries, tempDir } from "./fixtures.ts";
import { WriterProcess } from "./writer-process.ts";

const ROUNDS = 40;

describe("readers beside a live writer", () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it("audits and opens read-only a ledger being written, each time a prefix consistent with the last", async () => {
    const { dir, remove } = tempDir("modelchain-live-reader-");
    cleanup.push(remove);
    const writer = await WriterProcess.start("ledger", "live", 30_000);
    cleanup.push(() => writer.killed());
    expect(await writer.ask(`OPEN ${dir}`)).toMatch(/^READY /);
    expect(await writer.ask("APPEND 8")).toBe("DONE");
    writer.send("RUN");
    let last = { size: 0, root: toHex(EMPTY_ROOT) };
    for (let round = 0; round < ROUNDS; round++) {
      const audit = await auditFileLedger(dir);
      expect(audit.problem, `audit in round ${round}`).toBeUndefined();
      expect(audit.size).toBeGreaterThanOrEqual(last.size);
      const reader = await FileLedger.open(dir, { readOnly: true });
      try {
        const size = await reader.size();
        expect(size).toBeGreaterThanOrEqual(audit.size);
        const root = await reader.root();
        const proof = await reader.consistencyProof(last.size, size);
        verifyExtends(
          last.size,
          size,
          proof.proof.map((h) => hashFromHex(h)),
          hashFromHex(last.root),
          hashFromHex(root),
        );
        last = { size, root };
      } finally {
        await reader.close();
      }
    }
    expect(await writer.ask("STOP")).toBe("STOPPED");
    expect(await writer.ask("CLOSE")).toBe("CLOSED");
    const final = await auditFileLedger(dir);
    expect(final.problem).toBeUndefined();
    expect(final.size).toBe(writer.acks.length);
    expect(final.size).toBeGreaterThanOrEqual(last.size);
  }, 120_000);
});

describe("what the audit makes of bytes past the last indexed entry", () => {
  const made: Array<() => void> = [];
  afterEach(() => {
    for (const remove of made.splice(0)) remove();
  });
  /** A ledger of 6 entries whose last 2 records are in the segments but not in the index. */
  async function unindexedTail(): Promise<{ dir: string; segment: string }> {
    const { dir, remove } = tempDir("modelchain-tail-");
    made.push(remove);
    const ledger = await FileLedger.open(dir, { warn: () => undefined });
    await ledger.append(entries(0, 6));
    await ledger.close();
    truncateSync(join(dir, "index"), 4 * 64);
    const segments = join(dir, "segments");
    return { dir, segment: join(segments, readdirSync(segments)[0] ?? "") };
  }

  it("passes complete records not yet indexed and a torn record after them: a commit in flight", async () => {
    const { dir, segment } = await unindexedTail();
    appendFileSync(segment, Buffer.from("MCL1\0\0\0"));
    const audit = await auditFileLedger(dir);
    expect(audit.problem).toBeUndefined();
    expect(audit.size).toBe(4);
  });

  it("still reports bytes that are neither a record nor a torn one, naming the entry they would be", async () => {
    const { dir, segment } = await unindexedTail();
    appendFileSync(segment, Buffer.from("not a record at all"));
    const audit = await auditFileLedger(dir);
    expect(audit.problem).toMatchObject({ index: 6 });
    expect(audit.problem?.message).toMatch(/unrecognised bytes at offset \d+ after the last entry/);
  });
});
