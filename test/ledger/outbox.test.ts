import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileOutbox, MemoryLedger, OutboxCorruptError } from "../../src/ledger/index.ts";
import { entries, tempDir } from "./fixtures.ts";

let dir: string;
let remove: () => void;
beforeEach(() => ({ dir, remove } = tempDir("modelchain-outbox-")));
afterEach(() => remove());

async function keysIn(ledger: MemoryLedger): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < (await ledger.size()); i++) out.push((await ledger.get(i)).envelope.entry.key);
  return out;
}

describe("durable outbox", () => {
  it("keeps what was enqueued across a restart and delivers it in order once a ledger is there", async () => {
    const collecting = FileOutbox.open(dir);
    await collecting.enqueue(entries(0, 3));
    await collecting.enqueue(entries(3, 2));
    expect(collecting.depth()).toBe(5);
    await collecting.close();
    const ledger = new MemoryLedger();
    const draining = FileOutbox.open(dir, { ledger });
    await draining.flush();
    expect(await keysIn(ledger)).toEqual(["key-0", "key-1", "key-2", "key-3", "key-4"]);
    expect(draining.depth()).toBe(0);
    await draining.close();
  });

  it("waits out a ledger outage with backoff and loses nothing", async () => {
    const ledger = new MemoryLedger();
    ledger.failNext(3);
    const warnings: string[] = [];
    const outbox = FileOutbox.open(dir, { ledger, retryBaseMs: 5, warn: (m) => warnings.push(m) });
    await outbox.enqueue(entries(0, 4));
    await outbox.flush();
    expect(await keysIn(ledger)).toEqual(["key-0", "key-1", "key-2", "key-3"]);
    expect(warnings.filter((w) => /ledger append failed .* 4 entries wait/.test(w))).toHaveLength(3);
    await outbox.close();
  });

  it("replays unacknowledged entries after a crash, and the ledger's idempotency adds nothing twice", async () => {
    const ledger = new MemoryLedger();
    const first = FileOutbox.open(dir, { ledger });
    await first.enqueue(entries(0, 3));
    await first.flush();
    await first.close();
    writeFileSync(join(dir, "outbox.ack"), "1"); // as if the process died before acknowledging 2 of 3
    const second = FileOutbox.open(dir, { ledger });
    await second.flush();
    expect(await ledger.size()).toBe(3);
    expect(second.depth()).toBe(0);
    await second.close();
  });

  it("truncates a torn last record with a warning, and refuses a corrupted one naming it", async () => {
    const collecting = FileOutbox.open(dir);
    await collecting.enqueue(entries(0, 2));
    await collecting.close();
    appendFileSync(join(dir, "outbox.log"), Buffer.from([0, 0, 1, 0, 9, 9]));
    const warnings: string[] = [];
    const reopened = FileOutbox.open(dir, { warn: (m) => warnings.push(m) });
    expect(reopened.depth()).toBe(2);
    expect(warnings[0]).toMatch(/truncated 6 bytes of a torn, never acknowledged record 2/);
    await reopened.close();
    const log = readFileSync(join(dir, "outbox.log"));
    log[12] = (log[12] ?? 0) ^ 0xff;
    writeFileSync(join(dir, "outbox.log"), log);
    expect(() => FileOutbox.open(dir)).toThrow(OutboxCorruptError);
    expect(() => FileOutbox.open(dir)).toThrow(/record 0 at byte 0: checksum mismatch/);
  });

  it("refuses an invalid entry at enqueue, naming the field, and stores nothing", async () => {
    const outbox = FileOutbox.open(dir);
    await expect(outbox.enqueue([{ ...entries(0, 1)[0], key: "" } as never])).rejects.toThrow(
      /key must be a non-empty string/,
    );
    expect(outbox.depth()).toBe(0);
    await outbox.close();
  });
});

describe("the outbox lock", () => {
  it("refuses a second writer on the same directory, naming the holder, and frees it on close", async () => {
    const { dir, remove } = tempDir("modelchain-outbox-lock-");
    try {
      const first = FileOutbox.open(dir);
      expect(() => FileOutbox.open(dir)).toThrow(new RegExp(`locked for writing by pid ${process.pid}`));
      await first.close();
      const second = FileOutbox.open(dir);
      await second.close();
    } finally {
      remove();
    }
  });
});

describe("the outbox after a crash during compaction", () => {
  it("puts an acknowledgement count above the records right on disk, so later records are not skipped", async () => {
    const { dir, remove } = tempDir("modelchain-outbox-compact-");
    try {
      // Compaction truncated the log, then the process died before the count was reset.
      writeFileSync(join(dir, "outbox.log"), "");
      writeFileSync(join(dir, "outbox.ack"), "5");
      const first = FileOutbox.open(dir);
      expect(readFileSync(join(dir, "outbox.ack"), "utf8")).toBe("0");
      await first.enqueue(entries(0, 2));
      await first.close();
      const second = FileOutbox.open(dir);
      expect(second.depth()).toBe(2);
      await second.close();
    } finally {
      remove();
    }
  });
});
