import { LedgerError } from "../errors.ts";

/** An acknowledged byte of the ledger was edited, removed, reordered or truncated. */
export class LedgerCorruptError extends LedgerError {
  readonly index: number;
  constructor(index: number, problem: string, options?: ErrorOptions) {
    super(`ledger corrupt at entry ${index}: ${problem}`, options);
    this.name = "LedgerCorruptError";
    this.index = index;
  }
}

/** Another process holds the ledger for writing; it may let go, so opening again may pass. */
export class LedgerLockedError extends LedgerError {
  readonly holderPid: number;
  constructor(dir: string, holderPid: number, holderHost: string, lockFile: string) {
    super(
      `ledger ${dir} is locked for writing by pid ${holderPid} on ${holderHost} (lock file ${lockFile})`,
      {
        retryable: true,
      },
    );
    this.name = "LedgerLockedError";
    this.holderPid = holderPid;
  }
}

/**
 * This writer no longer holds the write lock: it was paused or cut off for longer than the
 * stale window and another writer took over. It writes nothing more through this handle;
 * reopening is refused while the new writer holds the lock.
 */
export class LedgerLockLost extends LedgerError {
  readonly generation: number;
  constructor(dir: string, generation: number, holderNow: string) {
    super(
      `ledger ${dir}: this writer (pid ${process.pid}, lock generation ${generation}) lost the write lock, now ${holderNow}; it writes nothing more`,
    );
    this.name = "LedgerLockLost";
    this.generation = generation;
  }
}

/** A write or fsync failed: the ledger refuses further appends until it is reopened (and recovered). */
export class LedgerAppendFailed extends LedgerError {
  constructor(message: string, options?: ErrorOptions) {
    super(`ledger append failed: ${message}`, options);
    this.name = "LedgerAppendFailed";
  }
}

export class LedgerOpenFailed extends LedgerError {
  constructor(message: string, options?: ErrorOptions) {
    super(`ledger open failed: ${message}`, options);
    this.name = "LedgerOpenFailed";
  }
}

/** The ledger does not extend the last checkpoint it signed: history was rewritten or removed. */
export class CheckpointMismatchError extends LedgerError {
  constructor(message: string) {
    super(`ledger does not match its signed checkpoint: ${message}`);
    this.name = "CheckpointMismatchError";
  }
}
