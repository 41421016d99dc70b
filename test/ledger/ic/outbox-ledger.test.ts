// Nothing is lost while the canister is unreachable: appends wait in the on-disk outbox and are
// replayed in order — by the same process when the canister answers again, or by the next one.
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

  const open = async () => OutboxLedger.open(await hosted.ledger({ attempts: 1 }), dir, { retryBaseMs: 20, retryMaxMs: 50, deliveryTimeoutMs: 2_000 });

  it("delivers at once when the canister answers, with the canister's receipts", async () => {
    const ledger = await open();
    const receipts = await ledger.append([sampleEntry(0), sampleEntry(1), sampleEntry(0)]);
    expect(receipts.map((r) => [r.index, r.duplicate])).toEqual([[0, false], [1, false], [0, true]]);
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
    const indexes = await Promise.all([10, 11, 12, 13, 14].map(async (n) => (await second.lookup(`key-${n}`))?.index));
    expect(indexes).toEqual([2, 3, 4, 5, 6]);
    expect(await second.size()).toBe(7);
    await second.close();
  });

  it("an append waiting out a short outage resolves with its receipts once the canister is back", async () => {
    const ledger = await open();
    hosted.gateway.faults.push("unreachable", "unavailable");
    const receipts = await ledger.append(entries(20, 2)).catch(async (e: unknown) => {
      expect(e).toBeInstanceOf(LedgerUnavailableError);
      await ledger.flush();
      return ledger.append(entries(20, 2));
    });
    expect(receipts.map((r) => r.index)).toEqual([7, 8]);
    expect(ledger.depth()).toBe(0);
    await ledger.close();
  });
});
