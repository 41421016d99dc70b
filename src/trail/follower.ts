// One reader of the ledger for everything the trail indexes (registrations, revocations), so
// each entry is fetched once however many indexes read it.
import type { Ledger } from "../ledger/index.ts";
import { Registrations } from "./registrations.ts";
import { Revocations } from "./revocations.ts";
import { EntryFollower } from "./follow.ts";

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
  private readonly follower = new EntryFollower(
    () => this.size,
    (index, entry) => {
      this.registrations.add(index, entry);
      this.revocations.add(index, entry);
    },
  );

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
  follow(ledger: Ledger): Promise<void> {
    return this.follower.follow(ledger);
  }
}
