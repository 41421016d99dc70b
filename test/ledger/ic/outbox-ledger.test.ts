// Nothing is lost while the canister is unreachable: appends wait in the on-disk outbox and are
// replayed in order — by the same process when the canister answers again, or by the next one.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LedgerUnavailableError, OutboxLedger } from "../../../src/ledger/outbox-ledger.ts";
import { hostedCanister, skipHosted, skipReason, type Hosted } from "../../ichost/hosted.ts";
import { entries, sampleEntry, tempDir } from "../fixtures.ts";

if (skipHosted) console.log(`SKIP ic outbox suite: ${skipReason}`);

describe.skipIf(skipHosted)("the ic backend behind a durable outbox", () => {
  const { dir, remove } = tempDir("modelchain-ic-outbox-");
  let hosted: Hosted;
  beforeAll(async () => {
    hosted = await hostedCanister();
  }, 180_000);
  afterAll(() => remove());

  const open = async () =>
    OutboxLedger.open(await hosted.ledger({ attempts: 1 }), dir, {
      retryBaseMs: 20,
      retryMaxMs: 50,
      deliveryTimeoutMs: 2_000,
    });

  it("delivers at once when the canister answers, with the canister's receipts", async () => {
    const ledger = await open();
    const receipts = await ledger.append([sampleEntry(0), sampleEntry(1), sampleEntry(0)]);
    expect(receipts.map((r) => [r.index, r.duplicate])).toEqual([
      [0, false],
      [1, false],
      [0, true],
    ]);
    expect(ledger.depth()).toBe(0);
    await ledger.close();
  });

  it("keeps appends made during an outage, across a restart, and replays them in order", async () => {
    const first = await open();
    hosted.gateway.down = true;
    await expect(first.append(entries(10, 3))).rejects.toThrow(LedgerUnavailableError);
    await expect(first.append(entries(13, 2))).rejects.toThrow(/5 entries are kept in the outbox/);
    // The same change retried while the canister is still away is not queued twice.
    await expect(first.append(entries(13, 2))).rejects.toThrow(/5 entries are kept/);
    expect(first.depth()).toBe(5);
    await first.close();

    hosted.gateway.down = false;
    const second = await open();
    await second.flush();
    expect(second.depth()).toBe(0);
    const indexes = await Promise.all(
      [10, 11, 12, 13, 14].map(async (n) => (await second.lookup(`key-${n}`))?.index),
    );
    expect(indexes).toEqual([2, 3, 4, 5, 6]);
    expect(await second.size()).toBe(7);
    await second.close();
  });

  it("rejects an append during a short outage at once, delivers it on the retry, and a repeat gets the same receipts", async () => {
    const ledger = await open();
    hosted.gateway.faults.push("unreachable");
    await expect(ledger.append(entries(20, 2))).rejects.toThrow(LedgerUnavailableError);
    await ledger.flush();
    const recorded = await Promise.all([20, 21].map(async (n) => (await ledger.lookup(`key-${n}`))?.index));
    expect(recorded).toEqual([7, 8]);
    const repeat = await ledger.append(entries(20, 2));
    expect(repeat.map((r) => [r.index, r.duplicate])).toEqual([
      [7, true],
      [8, true],
    ]);
    expect(await ledger.append([])).toEqual([]);
    await ledger.close();
  });

  it("moves an entry the canister refuses to outbox.dead, with the reason, and delivers the rest", async () => {
    hosted.control("set_max_entry_bytes", 4096n);
    const ledger = await open();
    try {
      const big = { ...sampleEntry(31), data: { blob: "z".repeat(6000) } };
      await expect(ledger.append([sampleEntry(30), big, sampleEntry(32)])).rejects.toThrow(/entry_too_large/);
      await ledger.flush();
      expect(ledger.depth()).toBe(0);
      expect((await ledger.lookup("key-30"))?.index).toBe(9);
      expect((await ledger.lookup("key-32"))?.index).toBe(10);
      expect(await ledger.lookup("key-31")).toBeUndefined();
      const dead = readFileSync(join(dir, "outbox.dead"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { entry: { key: string }; reason: string });
      expect(dead).toHaveLength(1);
      expect(dead[0]?.entry.key).toBe("key-31");
      expect(dead[0]?.reason).toMatch(/entry_too_large: entry 0 is \d+ bytes, limit 4096/);
      // Later appends are not held up by it.
      expect((await ledger.append([sampleEntry(33)]))[0]?.index).toBe(11);
    } finally {
      hosted.control("set_max_entry_bytes", 1_048_576n);
      await ledger.close();
    }
  });
});
