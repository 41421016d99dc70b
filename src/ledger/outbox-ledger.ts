// A ledger behind a durable outbox: every append is on disk (fsync'd) before it is sent, so an
// unreachable ledger (the canister, across the network) loses nothing. Entries are delivered in
// the order they were appended, with their idempotency keys; while the ledger is away, append
// rejects with LedgerUnavailableError but the entries stay and are replayed when it answers —
// by this process, or by the next one that opens the same outbox.
import { prepareEntry, type LedgerEntry } from "./entry.ts";
import { LedgerError } from "./errors.ts";
import type {
  Checkpoint,
  ConsistencyProof,
  InclusionProof,
  Ledger,
  LedgerOrigin,
  Receipt,
  StoredLeaf,
} from "./ledger.ts";
import { FileOutbox } from "./outbox.ts";

/** The entries are safe in the outbox; the ledger behind it did not answer (yet). */
export class LedgerUnavailableError extends LedgerError {
  readonly pending: number;
  constructor(dir: string, pending: number, cause: unknown) {
    super(
      `ledger unavailable (${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}); ${pending} entries are kept in the outbox ${dir} and will be replayed in order`,
      { cause, retryable: true },
    );
    this.name = "LedgerUnavailableError";
    this.pending = pending;
  }
}

interface Waiter {
  keys: Set<string>;
  receipts: Map<string, Receipt>;
  resolve: (receipts: Map<string, Receipt>) => void;
  reject: (e: unknown) => void;
}

export interface OutboxLedgerOptions {
  /** How long an append waits for delivery before it rejects (its entries stay queued). Default 10 s. */
  deliveryTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  warn?: (message: string) => void;
}

export class OutboxLedger implements Ledger {
  readonly inner: Ledger;
  readonly dir: string;
  private readonly outbox: FileOutbox;
  private readonly waiters = new Set<Waiter>();
  private readonly timeoutMs: number;

  private constructor(inner: Ledger, dir: string, options: OutboxLedgerOptions) {
    this.inner = inner;
    this.dir = dir;
    this.timeoutMs = options.deliveryTimeoutMs ?? 10_000;
    this.outbox = FileOutbox.open(dir, {
      ledger: inner,
      ...(options.retryBaseMs === undefined ? {} : { retryBaseMs: options.retryBaseMs }),
      ...(options.retryMaxMs === undefined ? {} : { retryMaxMs: options.retryMaxMs }),
      ...(options.warn === undefined ? {} : { warn: options.warn }),
      delivered: (entries, receipts) => this.delivered(entries, receipts),
      failed: (e) => this.failed(e),
      // The ledger refusing an entry itself (too large, not an entry; not "unauthorized"): it
      // goes to outbox.dead instead of blocking every entry queued behind it.
      permanent: (e) => e instanceof LedgerError && e.permanent,
      refused: (entry, e) => this.refused(entry, e),
    });
  }

  /** Opens (or resumes) the outbox in `dir`; entries left by an earlier process are replayed first. */
  static open(inner: Ledger, dir: string, options: OutboxLedgerOptions = {}): OutboxLedger {
    return new OutboxLedger(inner, dir, options);
  }

  get origin(): LedgerOrigin {
    return this.inner.origin;
  }

  /** Entries waiting for the ledger. */
  depth(): number {
    return this.outbox.depth();
  }

  /** Resolves once everything queued so far is in the ledger. */
  flush(): Promise<void> {
    return this.outbox.flush();
  }

  private delivered(entries: readonly LedgerEntry[], receipts: readonly Receipt[]): void {
    entries.forEach((entry, i) => {
      const receipt = receipts[i];
      if (receipt === undefined) return;
      for (const w of this.waiters) {
        if (w.keys.has(entry.key) && !w.receipts.has(entry.key)) w.receipts.set(entry.key, receipt);
      }
    });
    for (const w of [...this.waiters]) {
      if (w.receipts.size === w.keys.size) {
        this.waiters.delete(w);
        w.resolve(w.receipts);
      }
    }
  }

  private refused(entry: LedgerEntry, e: unknown): void {
    for (const w of [...this.waiters]) {
      if (!w.keys.has(entry.key)) continue;
      this.waiters.delete(w);
      w.reject(e);
    }
  }

  private failed(e: unknown): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      w.reject(new LedgerUnavailableError(this.dir, this.outbox.depth(), e));
    }
  }

  async append(entries: readonly LedgerEntry[]): Promise<Receipt[]> {
    const prepared = entries.map((e) => prepareEntry(e));
    if (prepared.length === 0) return [];
    const keys = new Set(prepared.map((p) => p.entry.key));
    let timer: NodeJS.Timeout | undefined;
    let waiter: Waiter | undefined;
    const delivered = new Promise<Map<string, Receipt>>((resolve, reject) => {
      waiter = { keys, receipts: new Map(), resolve, reject };
      this.waiters.add(waiter);
      const mine = waiter;
      timer = setTimeout(() => {
        this.waiters.delete(mine);
        reject(
          new LedgerUnavailableError(
            this.dir,
            this.outbox.depth(),
            new Error(`no acknowledgement within ${this.timeoutMs} ms`),
          ),
        );
      }, this.timeoutMs);
    });
    try {
      // A key already waiting (an earlier attempt of the same change) is not queued twice.
      const pending = this.outbox.pendingKeys();
      const seen = new Set<string>();
      const fresh = prepared.filter(
        (p) => !pending.has(p.entry.key) && !seen.has(p.entry.key) && seen.add(p.entry.key) !== undefined,
      );
      await this.outbox.enqueue(fresh.map((p) => p.entry));
      const receipts = await delivered;
      // The first receipt of a key repeated within the batch is the original; later ones are duplicates.
      const first = new Set<string>();
      return prepared.map((p) => {
        const r = receipts.get(p.entry.key) as Receipt;
        if (first.has(p.entry.key)) return { ...r, duplicate: true };
        first.add(p.entry.key);
        return r;
      });
    } finally {
      clearTimeout(timer);
      // Settled, timed out, or the enqueue failed: nobody will wait on this any more.
      if (waiter !== undefined) this.waiters.delete(waiter);
      delivered.catch(() => undefined);
    }
  }

  get(index: number): Promise<StoredLeaf> {
    return this.inner.get(index);
  }
  size(): Promise<number> {
    return this.inner.size();
  }
  root(size?: number): Promise<string> {
    return this.inner.root(size);
  }
  inclusionProof(index: number, size?: number): Promise<InclusionProof> {
    return this.inner.inclusionProof(index, size);
  }
  consistencyProof(from: number, to?: number): Promise<ConsistencyProof> {
    return this.inner.consistencyProof(from, to);
  }
  async lookup(key: string): Promise<Receipt | undefined> {
    return this.inner.lookup(key);
  }
  checkpoint(): Promise<Checkpoint> {
    return this.inner.checkpoint();
  }

  /** Closes the outbox (undelivered entries stay on disk for the next open) and the ledger. */
  async close(): Promise<void> {
    await this.outbox.close();
    await this.inner.close();
  }
}
