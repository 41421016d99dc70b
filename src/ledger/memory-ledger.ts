import { encodeEnvelope, nowNanos, type LeafEnvelope } from "./envelope.ts";
import { parseEntry, type LedgerEntry } from "./entry.ts";
import { hashLeaf, inclusionPath, consistencyPath, ProofInputError } from "./merkle.ts";
import { MemoryTree } from "./memory-tree.ts";
import { toHex } from "./hash.ts";
import type {
  Checkpoint,
  ConsistencyProof,
  InclusionProof,
  Ledger,
  LedgerOrigin,
  Receipt,
  StoredLeaf,
} from "./ledger.ts";

/**
 * A `Ledger` held in memory: same envelope, tree and idempotency rules as the durable
 * backends, nothing on disk. For tests and dry runs; `failNext` injects append failures.
 */
export class MemoryLedger implements Ledger {
  private readonly leaves: StoredLeaf[] = [];
  private readonly tree = new MemoryTree();
  private readonly byKey = new Map<string, number>();
  private failures = 0;
  readonly origin: LedgerOrigin = { backend: "memory", keyId: undefined };

  private readonly recordedBy: string;
  private readonly clock: () => number;

  constructor(recordedBy = "memory", clock: () => number = Date.now) {
    this.recordedBy = recordedBy;
    this.clock = clock;
  }

  /** The next `count` append calls reject without recording anything. */
  failNext(count = 1): void {
    this.failures += count;
  }

  async append(entries: readonly LedgerEntry[]): Promise<Receipt[]> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("memory ledger: injected append failure");
    }
    const placed = entries.map((e) => {
      const entry = parseEntry(e);
      const existing = this.byKey.get(entry.key);
      return existing === undefined
        ? { index: this.add(entry), duplicate: false }
        : { index: existing, duplicate: true };
    });
    const size = this.tree.size;
    const root = toHex(this.tree.root());
    return placed.map(({ index, duplicate }) => ({
      index,
      leafHash: (this.leaves[index] as StoredLeaf).leafHash,
      size,
      root,
      duplicate,
    }));
  }

  private add(entry: LedgerEntry): number {
    const envelope: LeafEnvelope = { entry, recordedAt: nowNanos(this.clock), recordedBy: this.recordedBy };
    const leaf = encodeEnvelope(envelope);
    const hash = hashLeaf(leaf);
    const index = this.leaves.length;
    this.leaves.push({ index, leaf, leafHash: toHex(hash), envelope });
    this.tree.appendLeafHash(hash);
    this.byKey.set(entry.key, index);
    return index;
  }

  async get(index: number): Promise<StoredLeaf> {
    const leaf = this.leaves[index];
    if (leaf === undefined)
      throw new ProofInputError(`no entry at index ${index} (size ${this.leaves.length})`);
    return leaf;
  }

  async size(): Promise<number> {
    return this.tree.size;
  }

  async root(size = this.tree.size): Promise<string> {
    this.checkSize(size);
    return toHex(this.tree.root(size));
  }

  async inclusionProof(index: number, size = this.tree.size): Promise<InclusionProof> {
    this.checkSize(size);
    const auditPath = inclusionPath(this.tree.source, index, size).map(toHex);
    return {
      index,
      size,
      leafHash: toHex(this.tree.source(0, index)),
      auditPath,
      root: toHex(this.tree.root(size)),
    };
  }

  async consistencyProof(from: number, to = this.tree.size): Promise<ConsistencyProof> {
    this.checkSize(to);
    const proof = consistencyPath(this.tree.source, from, to).map(toHex);
    return { from, to, fromRoot: toHex(this.tree.root(from)), toRoot: toHex(this.tree.root(to)), proof };
  }

  async lookup(key: string): Promise<Receipt | undefined> {
    const index = this.byKey.get(key);
    if (index === undefined) return undefined;
    const size = this.tree.size;
    return {
      index,
      leafHash: (this.leaves[index] as StoredLeaf).leafHash,
      size,
      root: toHex(this.tree.root()),
      duplicate: true,
    };
  }

  async checkpoint(): Promise<Checkpoint> {
    throw new Error("memory ledger: checkpoints need a signing key; use the file or ic backend");
  }

  async close(): Promise<void> {}

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.tree.size) {
      throw new ProofInputError(`size ${size} is beyond the ledger size ${this.tree.size}`);
    }
  }
}
