// A durable outbox: entries a component has decided to record wait on disk until the ledger
// acknowledges them, across ledger outages and process restarts, and are replayed in order
// with their idempotency keys (a replayed duplicate adds nothing).
// The files and their format are in outbox-log.ts.
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { backoffDelay } from "../backoff/index.ts";
import { outboxDepth, ledgerErrors } from "../metrics/index.ts";
import { prepareEntry, type LedgerEntry } from "./entry.ts";
import { LedgerError } from "./errors.ts";
import { LedgerLockLost } from "./file/errors.ts";
import { fencedAppend } from "./file/fence.ts";
import { acquireWriteLock, type WriteLock } from "./file/lock.ts";
import type { Ledger, Outbox, Receipt } from "./ledger.ts";
import { encodeRecord, readAck, readRecords, writeAck } from "./outbox-log.ts";

export { OutboxCorruptError } from "./outbox-log.ts";

export interface FileOutboxOptions {
  /** Where acknowledged entries go; without one the outbox only collects (another process drains). */
  ledger?: Ledger;
  batchSize?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  warn?: (message: string) => void;
  /** Told of each batch the ledger acknowledged, with its receipts. */
  delivered?: (entries: readonly LedgerEntry[], receipts: readonly Receipt[]) => void;
  /** Told of each failed delivery attempt (the entries stay and are retried). */
  failed?: (error: unknown) => void;
  /**
   * Whether a delivery error is permanent: the ledger refuses the entry itself (too large, not
   * an entry), so retrying cannot help. Such an entry is moved to outbox.dead, with the reason,
   * instead of blocking every entry behind it. Default: no error is permanent.
   */
  permanent?: (error: unknown) => boolean;
  /** Told of an entry moved to outbox.dead. */
  refused?: (entry: LedgerEntry, error: unknown) => void;
  /** How long the outbox's lock may go unrenewed before another process takes it over (see FileLedgerOptions). */
  lockStaleMs?: number;
}

export class FileOutbox implements Outbox {
  private readonly dir: string;
  private readonly fd: number;
  private readonly options: FileOutboxOptions;
  private entries: LedgerEntry[];
  private acked: number;
  private end: number;
  private draining: Promise<void> | undefined;
  private closed = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly lock: WriteLock;
  private lost: LedgerLockLost | undefined;

  private constructor(
    dir: string,
    fd: number,
    lock: WriteLock,
    options: FileOutboxOptions,
    log: { entries: LedgerEntry[]; end: number; acked: number },
  ) {
    this.dir = dir;
    this.lock = lock;
    this.fd = fd;
    this.options = { ...options };
    this.entries = log.entries;
    this.end = log.end;
    this.acked = Math.min(log.acked, log.entries.length);
  }

  static open(dir: string, options: FileOutboxOptions = {}): FileOutbox {
    mkdirSync(dir, { recursive: true });
    // One process per outbox: two would deliver, acknowledge and compact the same log.
    const lock = acquireWriteLock(dir, {
      onStale: (holder) => options.warn?.(`outbox ${dir}: took over the lock from ${holder}`),
      ...(options.lockStaleMs === undefined ? {} : { staleMs: options.lockStaleMs }),
    });
    let fd: number;
    let records: { entries: LedgerEntry[]; end: number };
    try {
      fd = openSync(join(dir, "outbox.log"), "a+");
      records = readRecords(dir, fd, options.warn ?? (() => {}));
    } catch (e: unknown) {
      lock.release();
      throw e;
    }
    let acked = readAck(dir);
    // More acknowledged than recorded: a crash during compaction. Put the count right on disk
    // before new records arrive, or they would be read as acknowledged after the next restart.
    if (acked > records.entries.length) {
      acked = records.entries.length;
      writeAck(dir, acked);
    }
    const outbox = new FileOutbox(dir, fd, lock, options, { ...records, acked });
    outboxDepth.set(outbox.depth());
    outbox.kick();
    return outbox;
  }

  /**
   * Starts (or stops, with undefined) delivering to a ledger: an operator attaches its ledger
   * while it leads and detaches before closing it; meanwhile entries only collect.
   */
  async attach(ledger: Ledger | undefined): Promise<void> {
    this.options.ledger = ledger;
    if (ledger === undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      await this.draining;
      return;
    }
    this.kick();
  }

  depth(): number {
    return this.entries.length - this.acked;
  }

  /** Keys of the entries waiting for the ledger. */
  pendingKeys(): Set<string> {
    return new Set(this.entries.slice(this.acked).map((e) => e.key));
  }

  /** Durable once this resolves (written and fsync'd); delivery to the ledger follows. */
  async enqueue(entries: readonly LedgerEntry[]): Promise<void> {
    if (this.closed) throw new Error(`outbox ${this.dir} is closed`);
    if (this.lost !== undefined) throw this.lost;
    const prepared = entries.map((e) => prepareEntry(e));
    const buf = Buffer.concat(prepared.map(({ bytes }) => encodeRecord(bytes)));
    try {
      fencedAppend(this.fd, join(this.dir, "outbox.log"), buf, this.end, this.lock);
    } catch (e: unknown) {
      // Nothing of a failed write may stay: the next record goes where this one began. A failed
      // check is different: the bytes may be another writer's, or this one's after it lost the lock.
      if (!(e instanceof LedgerError)) ftruncateSync(this.fd, this.end);
      if (e instanceof LedgerLockLost) this.lost = e;
      throw e;
    }
    fsyncSync(this.fd);
    this.end += buf.byteLength;
    this.entries.push(...prepared.map((p) => p.entry));
    outboxDepth.set(this.depth());
    this.kick();
  }

  flush(): Promise<void> {
    const upTo = this.entries.length;
    if (this.acked >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ upTo, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.draining;
    closeSync(this.fd);
    this.lock.release();
  }

  private kick(): void {
    if (
      this.lost !== undefined ||
      this.options.ledger === undefined ||
      this.draining !== undefined ||
      this.retryTimer !== undefined ||
      this.depth() === 0
    )
      return;
    this.draining = this.drain()
      .catch((e: unknown) => this.stopOnLostLock(e))
      .finally(() => {
        this.draining = undefined;
        if (!this.closed) this.kick();
      });
  }

  private async drain(): Promise<void> {
    // After a permanent refusal, entries go one at a time until the refused one is found.
    let isolating = false;
    for (
      let ledger = this.options.ledger;
      ledger !== undefined && this.depth() > 0 && !this.closed;
      ledger = this.options.ledger
    ) {
      const batch = this.entries.slice(
        this.acked,
        this.acked + (isolating ? 1 : (this.options.batchSize ?? 256)),
      );
      let receipts: Receipt[];
      try {
        receipts = await ledger.append(batch);
      } catch (e: unknown) {
        if (this.options.permanent?.(e) === true) {
          const refused = batch[0];
          if (batch.length === 1 && refused !== undefined) {
            this.deadLetter(refused, e);
            continue;
          }
          isolating = true;
          continue;
        }
        this.options.failed?.(e);
        ledgerErrors.inc({ backend: "outbox", error: e instanceof Error ? e.name : "Error" });
        const delay = backoffDelay(
          { baseMs: this.options.retryBaseMs ?? 200, maxMs: this.options.retryMaxMs ?? 30_000 },
          this.failures++,
        );
        this.options.warn?.(
          `outbox ${this.dir}: ledger append failed (${e instanceof Error ? e.message : String(e)}); ${this.depth()} entries wait, retry in ${delay} ms`,
        );
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, delay);
        this.retryTimer.unref();
        return;
      }
      this.failures = 0;
      this.acknowledge(this.acked + batch.length);
      this.options.delivered?.(batch, receipts);
    }
  }

  /** Another process took the outbox over: this one writes nothing more, not even acknowledgements. */
  private stopOnLostLock(e: unknown): void {
    if (!(e instanceof LedgerLockLost)) throw e;
    this.lost = e;
    clearTimeout(this.retryTimer);
    this.options.warn?.(`outbox ${this.dir}: ${e.message}`);
  }

  /** Moves a refused entry out of the way, to outbox.dead with the reason: kept, not replayed. */
  private deadLetter(entry: LedgerEntry, error: unknown): void {
    this.lock.check();
    const reason = error instanceof Error ? error.message : String(error);
    const fd = openSync(join(this.dir, "outbox.dead"), "a");
    try {
      writeSync(fd, `${JSON.stringify({ entry, reason, at: new Date().toISOString() })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    ledgerErrors.inc({ backend: "outbox", error: "refused" });
    this.options.warn?.(
      `outbox ${this.dir}: the ledger refused entry ${JSON.stringify(entry.key)} (${reason}); moved to ${join(this.dir, "outbox.dead")}`,
    );
    this.acknowledge(this.acked + 1);
    this.options.refused?.(entry, error);
  }

  private acknowledge(count: number): void {
    this.lock.check();
    this.acked = count;
    writeAck(this.dir, count);
    if (this.acked === this.entries.length && this.end > 1024 * 1024) this.compact();
    outboxDepth.set(this.depth());
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.upTo <= this.acked) waiter.resolve();
      else this.waiters.push(waiter);
    }
  }

  /**
   * Everything acknowledged: start the log afresh. The count is reset first, so a crash in
   * between replays acknowledged entries (duplicates the ledger ignores by key), never skips one.
   */
  private compact(): void {
    this.lock.check();
    writeAck(this.dir, 0);
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
    this.end = 0;
    this.entries = [];
    this.acked = 0;
  }
}
