import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { prepareEntry, type LedgerEntry, type PreparedEntry } from "../entry.ts";
import { envelopeTail, nowNanos } from "../envelope.ts";
import { consistencyPath, inclusionPath, ProofInputError } from "../merkle.ts";
import { toHex, type Hash } from "../hash.ts";
import { signCheckpoint } from "../checkpoint.ts";
import { originOf, signCheckpointNote } from "../checkpoint-note.ts";
import { publishCheckpointNote } from "./published.ts";
import type {
  Checkpoint,
  ConsistencyProof,
  InclusionProof,
  Ledger,
  LedgerOrigin,
  Receipt,
  StoredLeaf,
} from "../ledger.ts";
import {
  ledgerAppendDuration,
  ledgerEntriesAppended,
  ledgerErrors,
  ledgerSize,
} from "../../metrics/index.ts";
import type { LedgerError } from "../errors.ts";
import { LedgerAppendFailed, LedgerLockLost, LedgerOpenFailed } from "./errors.ts";
import { FixedSlotFile } from "./fixed-file.ts";
import { KeyIndex } from "./key-index.ts";
import { acquireWriteLock, type WriteLock } from "./lock.ts";
import {
  decodeSlot,
  HEADER_BYTES,
  keyHashOf,
  leafHashesOfSlots,
  recordBytes,
  SLOT_BYTES,
  writeRecord,
  writeSlot,
  type IndexSlot,
} from "./record.ts";
import { decodeRecorded, readRecord, recoverIndex } from "./recovery.ts";
import { SegmentStore } from "./segments.ts";
import { TreeFiles } from "./tree-files.ts";
import { readSyncedSize, SYNC_EVERY, writeSyncedSize } from "./synced.ts";
import { checkSignedHead, readLatestCheckpoint, writeLatestCheckpoint } from "./keys.ts";
import {
  establishIdentity,
  trustOf,
  type LedgerIdentity,
  type RecordedHistory,
  type SigningKey,
} from "./identity.ts";

export interface FileLedgerOptions {
  /** Open for reading only: no lock, no recovery writes; sees the entries indexed at open. */
  readOnly?: boolean;
  /**
   * PEM file of the ed25519 checkpoint key; default `<dir>/checkpoint-key.pem`, made when the
   * ledger is created and never again (see identity.ts).
   */
  signingKeyPath?: string;
  maxSegmentBytes?: number;
  /**
   * How long a writer's lock may go unrenewed (the writer frozen or gone) before another
   * writer takes it over. Default: $MODELCHAIN_LEDGER_LOCK_STALE_MS, else 30 s.
   */
  lockStaleMs?: number;
  clock?: () => number;
  warn?: (message: string) => void;
}

interface PendingAppend {
  entries: PreparedEntry[];
  resolve: (receipts: Receipt[]) => void;
  reject: (e: unknown) => void;
}

interface NewLeaf {
  index: number;
  /** The entry's canonical bytes; its leaf is their envelope. */
  entryBytes: Uint8Array;
  keyHash: Uint8Array;
  kind: string;
  /** Where its record starts in the commit's buffer, its leaf's length and hash: set by `persist`. */
  at: number;
  length: number;
  leafHash: Hash;
}

const NOT_YET_WRITTEN = new Uint8Array(0);

const defaultLogger = pino({ name: "modelchain-ledger" }, pino.destination(2));

/**
 * The embedded ledger: a directory of append-only segments, a derived index and tree levels
 * (see record.ts, tree-files.ts). Appends are group-committed: every append waiting while a
 * commit is in flight shares the next write and fsync.
 */
export class FileLedger implements Ledger {
  readonly dir: string;
  private readonly segments: SegmentStore;
  private readonly index: FixedSlotFile;
  private readonly tree: TreeFiles;
  private readonly keys = new KeyIndex();
  private readonly clock: () => number;
  private readonly lock: WriteLock | undefined;
  private signingKey: SigningKey | undefined;
  private identity: LedgerIdentity | undefined;
  private count = 0;
  /** Entries whose index slots and tree nodes are known durable (synced.ts). */
  private syncedSize = 0;
  private queue: PendingAppend[] = [];
  private committing: Promise<void> | undefined;
  private failed: LedgerError | undefined;
  private closed = false;

  private constructor(dir: string, options: FileLedgerOptions, lock: WriteLock | undefined) {
    const readOnly = options.readOnly ?? false;
    this.dir = dir;
    this.clock = options.clock ?? Date.now;
    this.lock = lock;
    // Index before segments: beside a live writer, every record the index names is then there.
    this.index = FixedSlotFile.open(join(dir, "index"), SLOT_BYTES, readOnly);
    this.segments = SegmentStore.open(join(dir, "segments"), { readOnly, maxBytes: options.maxSegmentBytes });
    this.tree = new TreeFiles(join(dir, "tree"), readOnly, {
      at: (i) => this.slot(i).leafHash,
      range: (first, n) => leafHashesOfSlots(this.index.readRange(first, n)),
    });
  }

  static async open(dir: string, options: FileLedgerOptions = {}): Promise<FileLedger> {
    const warn = options.warn ?? ((message: string) => defaultLogger.warn({ dir }, message));
    const readOnly = options.readOnly ?? false;
    if (readOnly && !existsSync(join(dir, "index")))
      throw new LedgerOpenFailed(`${dir} holds no ledger (no index file)`);
    if (!readOnly) mkdirSync(join(dir, "tree"), { recursive: true });
    const lock = readOnly
      ? undefined
      : acquireWriteLock(dir, {
          onStale: (holder) => warn(`took over a stale write lock (${holder})`),
          ...(options.lockStaleMs === undefined ? {} : { staleMs: options.lockStaleMs }),
        });
    try {
      // The checkpoint before the index: a live writer signs only what it has indexed.
      const latest = readLatestCheckpoint(dir);
      const ledger = new FileLedger(dir, options, lock);
      ledger.recover(readOnly, warn);
      ledger.pinIdentity(readOnly, options.signingKeyPath, warn, latest);
      // What the open just checked is made durable at once, so readers need not check it again.
      if (!readOnly && ledger.syncedSize < ledger.count) await ledger.syncDerived();
      return ledger;
    } catch (e: unknown) {
      lock?.release();
      throw e;
    }
  }

  private recover(readOnly: boolean, warn: (message: string) => void): void {
    const synced = readSyncedSize(this.dir, this.index.count);
    this.count = recoverIndex(this.segments, this.index, { dir: this.dir, readOnly, warn, reread: synced });
    this.syncedSize = Math.min(synced, this.count);
    this.tree.recover(this.count, this.syncedSize, warn);
    this.keys.load(this.index, this.count);
    ledgerSize.set({ backend: "file" }, this.count);
  }

  /** Whose ledger this is (identity.ts), and that it still extends `latest`, the last head it signed. */
  private pinIdentity(
    readOnly: boolean,
    keyPath: string | undefined,
    warn: (m: string) => void,
    latest: Checkpoint | undefined,
  ): void {
    const history: RecordedHistory = {
      size: this.count,
      envelope: (i) => decodeRecorded(readRecord(this.segments, this.slot(i), i), i),
    };
    const now = new Date(this.clock());
    const pinned = establishIdentity({ dir: this.dir, readOnly, keyPath, history, now, warn });
    this.identity = pinned.identity;
    this.signingKey = pinned.key;
    if (latest !== undefined)
      checkSignedHead(latest, this.count, (size) => toHex(this.tree.rootAt(size)), trustOf(this.identity));
  }

  get origin(): LedgerOrigin {
    return { backend: "file", keyId: this.identity?.keyId };
  }

  private slot(index: number): IndexSlot {
    return decodeSlot(this.index.read(index));
  }

  async append(entries: readonly LedgerEntry[]): Promise<Receipt[]> {
    const parsed = entries.map((e) => prepareEntry(e));
    if (this.closed) throw new LedgerAppendFailed("ledger is closed");
    if (this.signingKey === undefined) throw new LedgerAppendFailed("ledger was opened read-only");
    if (this.failed !== undefined) throw this.failed;
    return new Promise((resolve, reject) => {
      this.queue.push({ entries: parsed, resolve, reject });
      this.startCommitting();
    });
  }

  /** One commit loop at a time; an append that lands as the loop winds down restarts it. */
  private startCommitting(): void {
    if (this.committing !== undefined) return;
    this.committing = this.commitLoop().finally(() => {
      this.committing = undefined;
      if (this.queue.length > 0 && this.failed === undefined) this.startCommitting();
    });
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.commit(group);
      } catch (e: unknown) {
        this.failed =
          e instanceof LedgerLockLost
            ? e
            : new LedgerAppendFailed(`write or fsync failed; reopen the ledger to recover`, { cause: e });
        ledgerErrors.inc({ backend: "file", error: this.failed.name });
        for (const pending of [...group, ...this.queue.splice(0)]) pending.reject(this.failed);
        return;
      }
    }
  }

  private async commit(group: PendingAppend[]): Promise<void> {
    const started = performance.now();
    const tail = envelopeTail(nowNanos(this.clock), `file:${(this.signingKey as SigningKey).keyId}`);
    const base = this.count;
    const fresh: NewLeaf[] = [];
    const keyHashAt = (i: number): Uint8Array =>
      i < base ? this.slot(i).keyHash : (fresh[i - base] as NewLeaf).keyHash;
    const placements = group.map((pending) =>
      pending.entries.map(({ entry, bytes }) => {
        const keyHash = keyHashOf(entry.key);
        const existing = this.keys.find(keyHash, keyHashAt);
        if (existing !== undefined) return { index: existing, duplicate: true };
        const index = base + fresh.length;
        fresh.push({
          index,
          entryBytes: bytes,
          keyHash,
          kind: entry.kind,
          at: 0,
          length: 0,
          leafHash: NOT_YET_WRITTEN,
        });
        this.keys.add(keyHash, index);
        return { index, duplicate: false };
      }),
    );
    const root = toHex(fresh.length > 0 ? await this.persist(fresh, tail) : this.tree.rootAt(this.count));
    const size = this.count;
    const leafHashAt = (i: number): Hash =>
      i < base ? this.slot(i).leafHash : (fresh[i - base] as NewLeaf).leafHash;
    group.forEach((pending, g) => {
      const receipts = (placements[g] ?? []).map(({ index, duplicate }) => ({
        index,
        leafHash: toHex(leafHashAt(index)),
        size,
        root,
        duplicate,
      }));
      pending.resolve(receipts);
    });
    if (this.count - this.syncedSize >= SYNC_EVERY) await this.syncDerived();
    const byKind = new Map<string, number>();
    for (const { kind } of fresh) byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    for (const [kind, n] of byKind) ledgerEntriesAppended.inc({ kind, backend: "file" }, n);
    ledgerAppendDuration.observe({ backend: "file" }, (performance.now() - started) / 1000);
    ledgerSize.set({ backend: "file" }, size);
  }

  /**
   * Segments first and fsync'd: that is the commit point. Index and tree follow (derived). The
   * commit's records are built in one buffer, each leaf enveloped and hashed in place (record.ts).
   */
  private async persist(fresh: NewLeaf[], tail: Uint8Array): Promise<Hash> {
    if (this.lock === undefined) throw new LedgerAppendFailed("ledger was opened read-only");
    let total = 0;
    for (const f of fresh) total += recordBytes(f.entryBytes, tail);
    // Every byte is written below: the header's fields and the leaf fill each record.
    const records = Buffer.allocUnsafe(total);
    let at = 0;
    for (const f of fresh) {
      const { length, leafHash } = writeRecord(records, at, f, tail);
      f.at = at;
      f.length = length;
      f.leafHash = leafHash;
      at += HEADER_BYTES + length;
    }
    const start = this.segments.append(records, this.lock);
    const durable = this.segments.sync();
    // While the fsync is in flight, what only computes: the slots, the tree's new nodes and the
    // root. The tree's border then runs ahead of `count` until the commit is done, which is why
    // every root this class serves is `rootAt(this.count)`.
    let derived: { slots: Buffer; newNodes: Map<number, Hash[]>; root: Hash };
    try {
      derived = this.derive(fresh, start);
    } finally {
      // The fsync is awaited whatever happens, so its failure is never left unhandled.
      await durable;
    }
    // Past the fsync, the derived files' writes are synchronous page-cache writes: no thread-pool
    // round trip each (fixed-file.ts), and nothing else this process does comes between them.
    this.index.append(derived.slots);
    this.tree.writeNodes(derived.newNodes);
    this.count += fresh.length;
    return derived.root;
  }

  /** The index slots of `fresh` (their records written from logical offset `start`) and the tree grown by them. */
  private derive(
    fresh: NewLeaf[],
    start: number,
  ): { slots: Buffer; newNodes: Map<number, Hash[]>; root: Hash } {
    const slots = Buffer.alloc(fresh.length * SLOT_BYTES);
    fresh.forEach((f, i) =>
      writeSlot(slots, i * SLOT_BYTES, {
        offset: start + f.at,
        length: f.length,
        leafHash: f.leafHash,
        keyHash: f.keyHash,
      }),
    );
    const newNodes = new Map<number, Hash[]>();
    for (const f of fresh) this.tree.pushLeaf(f.leafHash, newNodes);
    return { slots, newNodes, root: this.tree.currentRoot() };
  }

  async get(index: number): Promise<StoredLeaf> {
    this.checkIndex(index, this.count);
    const slot = this.slot(index);
    const leaf = readRecord(this.segments, slot, index);
    return { index, leaf, leafHash: toHex(slot.leafHash), envelope: decodeRecorded(leaf, index) };
  }

  async size(): Promise<number> {
    return this.count;
  }

  async root(size = this.count): Promise<string> {
    this.checkSize(size);
    return toHex(this.tree.rootAt(size));
  }

  async inclusionProof(index: number, size = this.count): Promise<InclusionProof> {
    this.checkSize(size);
    this.checkIndex(index, size);
    const auditPath = inclusionPath(this.tree.source, index, size).map(toHex);
    return {
      index,
      size,
      leafHash: toHex(this.slot(index).leafHash),
      auditPath,
      root: toHex(this.tree.rootAt(size)),
    };
  }

  async consistencyProof(from: number, to = this.count): Promise<ConsistencyProof> {
    this.checkSize(to);
    if (!Number.isSafeInteger(from) || from < 0 || from > to)
      throw new ProofInputError(`from ${from} must be between 0 and ${to}`);
    const proof = consistencyPath(this.tree.source, from, to).map(toHex);
    return { from, to, fromRoot: toHex(this.tree.rootAt(from)), toRoot: toHex(this.tree.rootAt(to)), proof };
  }

  async lookup(key: string): Promise<Receipt | undefined> {
    // Keys of a commit in flight are in the key index before their slots are written: they
    // are not recorded yet, so they are not found.
    const index = this.keys.find(keyHashOf(key), (i) =>
      i < this.count ? this.slot(i).keyHash : NOT_YET_WRITTEN,
    );
    if (index === undefined) return undefined;
    return {
      index,
      leafHash: toHex(this.slot(index).leafHash),
      size: this.count,
      root: toHex(this.tree.rootAt(this.count)),
      duplicate: true,
    };
  }

  async checkpoint(): Promise<Checkpoint> {
    if (this.signingKey === undefined)
      throw new LedgerAppendFailed("a read-only ledger cannot sign checkpoints");
    await this.committing;
    await this.syncDerived();
    const { privateKey, keyId } = this.signingKey;
    const head = { size: this.count, root: toHex(this.tree.rootAt(this.count)) };
    const note = signCheckpointNote({ origin: originOf(keyId), ...head }, privateKey);
    publishCheckpointNote(this.dir, head.size, note, () => this.lock?.check());
    const checkpoint = { ...signCheckpoint(head, privateKey, new Date(this.clock())), note };
    this.lock?.check();
    writeLatestCheckpoint(this.dir, checkpoint);
    return checkpoint;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.committing !== undefined) await this.committing;
    try {
      if (this.signingKey !== undefined && this.failed === undefined) await this.syncDerived();
    } catch (e: unknown) {
      // A writer that lost the lock has nothing left to vouch for, and closing must still let
      // go of its files; it wrote nothing, as it would not on any other path.
      if (!(e instanceof LedgerLockLost)) throw e;
    } finally {
      await this.index.close();
      await this.tree.close();
      await this.segments.close();
      this.lock?.release();
    }
  }

  /** Makes the index and tree durable up to the current size and records it (synced.ts). */
  private async syncDerived(): Promise<void> {
    const size = this.count;
    await Promise.all([this.index.sync(), this.tree.sync()]);
    // synced.json vouches for the index and tree: a writer that lost the lock must not vouch
    // for files the new writer may be rebuilding.
    this.lock?.check();
    writeSyncedSize(this.dir, size);
    this.syncedSize = size;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.count) {
      throw new ProofInputError(`size ${size} is beyond the ledger size ${this.count}`);
    }
  }

  private checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new ProofInputError(`index ${index} out of range for size ${size}`);
    }
  }
}
