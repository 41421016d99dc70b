/**
 * What every ledger error says about trying again, so callers classify by type instead of by
 * name or by probing for fields:
 *
 * - `retryable`: the same call may succeed later without anyone changing anything (the ledger
 *   was unreachable, or another writer held the lock and may let go). Retry with backoff.
 * - `permanent`: the request itself is refused for what it is (an entry that is not an entry,
 *   too large, a malformed URL or key): no retry of the same input can ever pass. An outbox
 *   moves such an entry aside rather than blocking those behind it.
 * - neither: the ledger or this handle needs a person or a reopen (corrupt bytes, a checkpoint
 *   the log does not extend, a lost write lock). Retrying the same handle will not help, and the
 *   entries are not at fault, so they must be kept.
 */
export class LedgerError extends Error {
  readonly retryable: boolean;
  readonly permanent: boolean;
  constructor(message: string, options?: ErrorOptions & { retryable?: boolean; permanent?: boolean }) {
    super(message, options);
    this.name = "LedgerError";
    this.retryable = options?.retryable ?? false;
    this.permanent = options?.permanent ?? false;
  }
}

/** A ledger URL (a directory, file:// or ic://) that names no ledger this build can open. */
export class LedgerUrlError extends LedgerError {
  constructor(url: string, problem: string) {
    super(`ledger ${JSON.stringify(url)}: ${problem}`, { permanent: true });
    this.name = "LedgerUrlError";
  }
}
