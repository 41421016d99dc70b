// One reader of the ledger for everything the trail indexes (registrations, revocations), so
// each entry is fetched once however many indexes read it.
import type { Ledger } from "../ledger/index.ts";
import { Registrations } from "./registrations.ts";
import { Revocations } from "./revocations.ts";

/** The indexes do not agree on how far they have read; they must be fed together. */
export class TrailIndexMismatch extends Error {
  constructor(registrations: number, revocations: number) {
    super(`trail index: registrations read ${registrations} entries, revocations ${revocations}`);
    this.name = "TrailIndexMismatch";
  }
}

export class TrailIndex {
  readonly registrations: Registrations;
  readonly revocations: Revocations;
  private reading: Promise<void> | undefined;

  constructor(registrations = new Registrations(), revocations = new Revocations()) {
    if (registrations.size !== revocations.size)
      throw new TrailIndexMismatch(registrations.size, revocations.size);
    this.registrations = registrations;
    this.revocations = revocations;
  }

  get size(): number {
    return this.registrations.size;
  }

  /** Reads the entries appended since the last call, in order; concurrent callers take turns. */
  async follow(ledger: Ledger): Promise<void> {
    while (this.reading !== undefined) await this.reading;
    this.reading = this.readNew(ledger).finally(() => (this.reading = undefined));
    await this.reading;
  }

  private async readNew(ledger: Ledger): Promise<void> {
    const size = await ledger.size();
    for (let i = this.size; i < size; i++) {
      const entry = (await ledger.get(i)).envelope.entry;
      this.registrations.add(i, entry);
      this.revocations.add(i, entry);
    }
  }
}
