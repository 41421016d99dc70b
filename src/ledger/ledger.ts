import type { LedgerEntry } from "./entry.ts";
import type { LeafEnvelope } from "./envelope.ts";

/** What an append returns for each entry, in the order the entries were given. */
export interface Receipt {
  index: number;
  /** Lowercase hex SHA-256(0x00 ‖ leaf bytes). */
  leafHash: string;
  /** Tree size right after the batch that holds this entry was committed. */
  size: number;
  /** Lowercase hex root of the tree at `size`. */
  root: string;
  /** True when the entry's key was already in the ledger: nothing was added. */
  duplicate: boolean;
}

/** A recorded leaf: its position, its exact bytes and what they decode to. */
export interface StoredLeaf {
  index: number;
  leaf: Uint8Array;
  leafHash: string;
  envelope: LeafEnvelope;
}

/** RFC 6962 §2.1.1 audit path for one leaf, with the root it leads to. */
export interface InclusionProof {
  index: number;
  size: number;
  leafHash: string;
  auditPath: string[];
  root: string;
}

/** RFC 6962 §2.1.2 proof that the tree at `from` is a prefix of the tree at `to`. */
export interface ConsistencyProof {
  from: number;
  to: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

/** A signed statement of the tree head. `signature` is base64 ed25519 over `checkpointMessage`. */
export interface Checkpoint {
  size: number;
  root: string;
  /** RFC 3339. */
  timestamp: string;
  keyId: string;
  signature: string;
  /** Which backend signed: "file" (the ledger's own key) or "ic" (the subnet, via a certificate). */
  origin?: string;
  /** The signer's public key (PEM), for convenience; auditors should pin it by `keyId`. */
  publicKey?: string;
  /** A file ledger's: the same head as a C2SP signed-note checkpoint (checkpoint-note.ts). */
  note?: string;
}

/** Who speaks for a ledger: the key its checkpoints are signed by, fixed when it was created. */
export interface LedgerOrigin {
  backend: "file" | "ic" | "memory";
  /**
   * The key id every checkpoint of this ledger carries: for `file` the hex id of the ledger's
   * ed25519 key (its ledger.json), for `ic` "ic:<canister id>". Undefined when not pinned: a
   * file ledger made before identity files, opened read-only; the memory ledger.
   */
  keyId: string | undefined;
}

/**
 * The append-only ledger every backend implements (file, ic). Indexes are 0-based and
 * dense. Implementations must be safe to call concurrently; `append` resolves only once its
 * entries are durable (fsync'd, or accepted by the canister), and entries whose `key` is
 * already recorded return the first receipt with `duplicate: true`.
 */
export interface Ledger {
  append(entries: readonly LedgerEntry[]): Promise<Receipt[]>;
  get(index: number): Promise<StoredLeaf>;
  size(): Promise<number>;
  /** Root of the first `size` leaves (default: the whole tree). */
  root(size?: number): Promise<string>;
  inclusionProof(index: number, size?: number): Promise<InclusionProof>;
  consistencyProof(from: number, to?: number): Promise<ConsistencyProof>;
  /** Receipt of an already recorded key, without appending. */
  lookup(key: string): Promise<Receipt | undefined>;
  checkpoint(): Promise<Checkpoint>;
  close(): Promise<void>;
  readonly origin: LedgerOrigin;
  /**
   * Optional: leaves [start, start+count) in bulk, NOT individually proven, for readers that
   * rebuild the tree and compare its root with a proven one (the audit). Backends without a
   * bulk path leave it out, and such readers fall back to `get`.
   */
  readLeaves?(start: number, count: number): Promise<StoredLeaf[]>;
}

/**
 * Where components hand entries they have decided to record when they must not wait for the
 * ledger (the webhook's response path, the operator during a ledger outage). `enqueue`
 * resolves once the entries are durable in the outbox; a drain loop appends them to the
 * ledger in order, with their idempotency keys, until it succeeds.
 */
export interface Outbox {
  enqueue(entries: readonly LedgerEntry[]): Promise<void>;
  /** Entries enqueued and not yet acknowledged by the ledger. */
  depth(): number;
  /** Resolves when every entry enqueued before the call is in the ledger. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
