// Following an append-only ledger: read the entries appended since the last call, in order,
// each once; concurrent callers take turns. One mechanism for every index the trail keeps.
import type { Ledger, LedgerEntry } from "../ledger/index.ts";

export class EntryFollower {
  private reading: Promise<void> | undefined;
  private readonly next: () => number;
  private readonly take: (index: number, entry: LedgerEntry) => void;

  /** `next`: the index of the first entry not yet taken; `take`: takes in one entry. */
  constructor(next: () => number, take: (index: number, entry: LedgerEntry) => void) {
    this.next = next;
    this.take = take;
  }

  async follow(ledger: Ledger): Promise<void> {
    while (this.reading !== undefined) await this.reading;
    this.reading = this.readNew(ledger).finally(() => (this.reading = undefined));
    await this.reading;
  }

  private async readNew(ledger: Ledger): Promise<void> {
    const size = await ledger.size();
    for (let i = this.next(); i < size; i++) this.take(i, (await ledger.get(i)).envelope.entry);
  }
}
