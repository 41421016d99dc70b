// The `ic` backend: the Ledger interface over the ledger canister, through @dfinity/agent.
//
// It never trusts an unproven answer. The tip comes with the subnet's certificate over
// SHA-256(u64be(size) ‖ root), checked against the IC root key and for freshness; every tip is
// checked to extend the last one this process saw (a consistency proof); a leaf is returned
// only with an inclusion proof to a certified tip; a past root only with a consistency proof to
// one. Update replies (append receipts) are certified by the subnet too: the agent checks the
// call's certificate before returning them.
//
// Appends are split into batches under the 2 MiB ingress limit and retried, with the same
// idempotency keys, after timeouts and transport errors; a batch the canister refuses is not.
import {
  Actor,
  HttpAgent,
  ProtocolError,
  TransportError,
  type ActorSubclass,
  type Identity,
} from "@dfinity/agent";
import { Principal } from "@dfinity/principal";
import { backoffDelay } from "../../backoff/index.ts";
import {
  ledgerAppendDuration,
  ledgerEntriesAppended,
  ledgerErrors,
  ledgerSize,
  certifiedTipAge,
} from "../../metrics/index.ts";
import { prepareEntry, type LedgerEntry, type PreparedEntry } from "../entry.ts";
import { decodeEnvelope } from "../envelope.ts";
import { IcAppendRefused, IcVerificationError } from "./errors.ts";
import { sameHash, toHex, type Hash } from "../hash.ts";
import type {
  Checkpoint,
  ConsistencyProof,
  InclusionProof,
  Ledger,
  LedgerOrigin,
  Receipt,
  StoredLeaf,
} from "../ledger.ts";
import { EMPTY_ROOT, hashLeaf, ProofInputError } from "../merkle.ts";
import { rootFromInclusionProof, verifyConsistency, verifyExtends, verifyInclusion } from "../verify.ts";
import { verifyCertifiedTip } from "./certificate.ts";
import { idlFactory, type LedgerService, type ProofResultValue, type ReceiptValue } from "./idl.ts";

/** The canister's ingress limit is 2 MiB per message; this leaves room for Candid framing. */
export const DEFAULT_BATCH_BYTES = 1_900_000;
/** The most an append call carries, whatever is asked: room for the Candid and HTTP envelope. */
const MAX_BATCH_BYTES = 2_000_000;
const ITEM_OVERHEAD = 16;

export interface IcLedgerOptions {
  canisterId: string;
  /** The replica, boundary node or PocketIC gateway URL. */
  host: string;
  identity: Identity;
  /** DER BLS12-381 root key that certificates must chain to (default: the IC mainnet key). */
  rootKey?: Uint8Array;
  /** Ask the replica for its root key (/api/v2/status): local replicas and PocketIC only, never mainnet. */
  fetchRootKey?: boolean;
  /** Check the replica's signatures on query replies (the agent's check; needs a real replica). */
  verifyQuerySignatures?: boolean;
  /** How old a tip's certificate may be (default five minutes). */
  maxCertificateAgeMs?: number;
  /** Bytes of entries per append call (default 1.9 MB, at most 2,000,000). */
  maxBatchBytes?: number;
  /** Attempts per call before giving up (default 5). */
  attempts?: number;
  retryBaseMs?: number;
  /** Per HTTP request (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  warn?: (message: string) => void;
}

const bytes = (v: Uint8Array | number[]): Uint8Array => (v instanceof Uint8Array ? v : Uint8Array.from(v));

function toReceipt(r: ReceiptValue): Receipt {
  return {
    index: Number(r.index),
    leafHash: toHex(bytes(r.leaf_hash)),
    size: Number(r.size),
    root: toHex(bytes(r.root)),
    duplicate: r.duplicate,
  };
}

/** Splits prepared entries into runs whose encoded size stays under `limit`. */
export function splitBatches(prepared: readonly PreparedEntry[], limit: number): PreparedEntry[][] {
  const batches: PreparedEntry[][] = [];
  let current: PreparedEntry[] = [];
  let size = 0;
  for (const p of prepared) {
    const cost = p.bytes.byteLength + Buffer.byteLength(p.entry.key) + ITEM_OVERHEAD;
    if (current.length > 0 && size + cost > limit) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(p);
    size += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ProofInputError(`${what} ${n} must be a non-negative integer`);
}

function retryable(e: unknown): boolean {
  // Transport and protocol failures (unreachable, 5xx, timeouts, expired ingress) may pass;
  // a reject from the canister or a certificate that does not verify will not.
  return (
    e instanceof TransportError ||
    e instanceof ProtocolError ||
    (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError" || e instanceof TypeError))
  );
}

interface VerifiedTip {
  size: number;
  root: Hash;
  time: Date;
  certificate: Uint8Array;
}

export class IcLedger implements Ledger {
  readonly canisterId: string;
  readonly principal: Principal;
  readonly origin: LedgerOrigin;
  private readonly actor: ActorSubclass<LedgerService>;
  private readonly agent: HttpAgent;
  private readonly options: IcLedgerOptions;
  /** The newest tip this process has verified; every later one must extend it. */
  private trusted: VerifiedTip | undefined;
  private tipping: Promise<unknown> = Promise.resolve();

  private constructor(agent: HttpAgent, options: IcLedgerOptions) {
    this.agent = agent;
    this.options = options;
    this.canisterId = options.canisterId;
    this.origin = { backend: "ic", keyId: `ic:${options.canisterId}` };
    this.principal = options.identity.getPrincipal();
    this.actor = Actor.createActor<LedgerService>(idlFactory, { agent, canisterId: options.canisterId });
  }

  static async create(options: IcLedgerOptions): Promise<IcLedger> {
    try {
      Principal.fromText(options.canisterId);
    } catch (e: unknown) {
      throw new Error(`ic ledger: canister id ${JSON.stringify(options.canisterId)} is not a principal`, {
        cause: e,
      });
    }
    const base = options.fetch ?? globalThis.fetch;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timedFetch: typeof fetch = (input, init) =>
      base(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const agent = await HttpAgent.create({
      host: options.host,
      identity: options.identity,
      fetch: timedFetch,
      retryTimes: 0,
      verifyQuerySignatures: options.verifyQuerySignatures ?? true,
      ...(options.rootKey === undefined ? {} : { rootKey: options.rootKey }),
      shouldFetchRootKey: options.fetchRootKey ?? false,
    });
    return new IcLedger(agent, options);
  }

  private rootKey(): Uint8Array {
    const key = this.agent.rootKey;
    if (key === null) throw new IcVerificationError("ic ledger: no root key to verify certificates against");
    return key;
  }

  /** Runs `call`, retrying what may pass on a later attempt, with exponential backoff. */
  private async retry<T>(what: string, call: () => Promise<T>): Promise<T> {
    const attempts = this.options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e: unknown) {
        ledgerErrors.inc({ backend: "ic", error: e instanceof Error ? e.name : "Error" });
        if (!retryable(e) || attempt >= attempts) throw e;
        const delay = backoffDelay({ baseMs: this.options.retryBaseMs ?? 250, maxMs: 10_000 }, attempt - 1);
        this.options.warn?.(
          `ic ledger ${this.canisterId}: ${what} failed (${e instanceof Error ? e.message.split("\n")[0] : String(e)}); attempt ${attempt + 1}/${attempts} in ${delay} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async append(entries: readonly LedgerEntry[]): Promise<Receipt[]> {
    const prepared = entries.map((e) => prepareEntry(e));
    const receipts: Receipt[] = [];
    const started = process.hrtime.bigint();
    for (const batch of splitBatches(
      prepared,
      Math.min(MAX_BATCH_BYTES, this.options.maxBatchBytes ?? DEFAULT_BATCH_BYTES),
    )) {
      const items = batch.map((p) => ({ key: p.entry.key, entry: p.bytes }));
      const result = await this.retry(`append of ${items.length} entries`, () => this.actor.append(items));
      if ("err" in result) throw new IcAppendRefused(this.canisterId, result.err, receipts.length);
      if (result.ok.length !== items.length)
        throw new IcVerificationError(
          `ic ledger: ${items.length} entries sent, ${result.ok.length} receipts returned`,
        );
      const batchReceipts = result.ok.map(toReceipt);
      receipts.push(...batchReceipts);
      const last = batchReceipts.at(-1);
      if (last !== undefined) ledgerSize.set({ backend: "ic" }, last.size);
      batchReceipts.forEach((r, i) => {
        if (!r.duplicate)
          ledgerEntriesAppended.inc({ kind: batch[i]?.entry.kind ?? "unknown", backend: "ic" });
      });
    }
    ledgerAppendDuration.observe({ backend: "ic" }, Number(process.hrtime.bigint() - started) / 1e9);
    return receipts;
  }

  /**
   * Fetches the tip, verifies its certificate and that it extends the last verified tip. One at
   * a time: two tips checked concurrently against the same older one would never be checked
   * against each other.
   */
  tip(): Promise<VerifiedTip> {
    const next = this.tipping.then(() => this.fetchTip());
    this.tipping = next.catch(() => undefined);
    return next;
  }

  private async fetchTip(): Promise<VerifiedTip> {
    const answer = await this.retry("tip", () => this.actor.tip());
    const certificate = answer.certificate[0];
    if (certificate === undefined)
      throw new IcVerificationError(
        `ic ledger ${this.canisterId}: tip() returned no certificate (was it called as an update?)`,
      );
    const size = Number(answer.size);
    const root = bytes(answer.root);
    const { time } = await verifyCertifiedTip({
      certificate: bytes(certificate),
      rootKey: this.rootKey(),
      canisterId: this.canisterId,
      size,
      root: toHex(root),
      ...(this.options.maxCertificateAgeMs === undefined
        ? {}
        : { maxAgeMs: this.options.maxCertificateAgeMs }),
    });
    if (size === 0 && !sameHash(root, EMPTY_ROOT))
      throw new IcVerificationError(
        `ic ledger ${this.canisterId}: certified root of the empty ledger is not the empty tree's`,
      );
    const tip: VerifiedTip = { size, root, time, certificate: bytes(certificate) };
    const previous = this.trusted;
    if (previous !== undefined) {
      if (size < previous.size)
        throw new IcVerificationError(
          `ic ledger ${this.canisterId}: certified size went back from ${previous.size} to ${size}`,
        );
      if (size > previous.size) {
        const proof =
          previous.size === 0
            ? []
            : await this.proof("consistency", () =>
                this.actor.consistency_proof(BigInt(previous.size), BigInt(size)),
              );
        this.verifying(`the tip at size ${size} does not extend the one at size ${previous.size}`, () =>
          verifyExtends(previous.size, size, proof, previous.root, root),
        );
      } else if (!sameHash(root, previous.root)) {
        throw new IcVerificationError(`ic ledger ${this.canisterId}: two certified roots for size ${size}`);
      }
    }
    this.trusted = tip;
    ledgerSize.set({ backend: "ic" }, size);
    certifiedTipAge.set(Math.max(0, (Date.now() - time.getTime()) / 1000));
    return tip;
  }

  /** A verified tip covering `size` leaves: the last one if it does, a fresh one otherwise. */
  private async tipCovering(size: number): Promise<VerifiedTip> {
    const known = this.trusted;
    if (known !== undefined && known.size >= size) return known;
    const tip = await this.tip();
    if (tip.size < size) throw new ProofInputError(`size ${size} is beyond the ledger's ${tip.size} entries`);
    return tip;
  }

  private verifying(what: string, check: () => void): void {
    try {
      check();
    } catch (e: unknown) {
      throw new IcVerificationError(
        `ic ledger ${this.canisterId}: ${what}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  private async proof(kind: string, query: () => Promise<ProofResultValue>): Promise<Hash[]> {
    const result = await this.retry(`${kind} proof`, query);
    if ("err" in result) throw new ProofInputError(result.err);
    return result.ok.map(bytes);
  }

  private async leafBytes(index: number): Promise<Uint8Array> {
    const [leaf] = await this.retry(`entry ${index}`, () => this.actor.entries(BigInt(index), 1n));
    if (leaf === undefined || Number(leaf.index) !== index)
      throw new ProofInputError(`index ${index} is beyond the ledger's entries`);
    return bytes(leaf.leaf);
  }

  async get(index: number): Promise<StoredLeaf> {
    return (await this.provenLeaf(index)).leaf;
  }

  /** A leaf with its inclusion in a certified tree proven, and that tree. */
  private async provenLeaf(index: number): Promise<{ leaf: StoredLeaf; tip: VerifiedTip }> {
    checkCount(index, "index");
    const leaf = await this.leafBytes(index);
    const tip = await this.tipCovering(index + 1);
    const leafHash = hashLeaf(leaf);
    const proof = await this.proof("inclusion", () =>
      this.actor.inclusion_proof(BigInt(index), BigInt(tip.size)),
    );
    this.verifying(`entry ${index} is not in the certified tree of size ${tip.size}`, () =>
      verifyInclusion(index, tip.size, leafHash, proof, tip.root),
    );
    return { leaf: { index, leaf, leafHash: toHex(leafHash), envelope: decodeEnvelope(leaf) }, tip };
  }

  /**
   * Leaves [start, start+count) as the canister serves them, NOT individually proven: for
   * readers that rebuild the tree and compare its root with a certified one (the audit).
   */
  async readLeaves(start: number, count: number): Promise<StoredLeaf[]> {
    const out: StoredLeaf[] = [];
    while (out.length < count) {
      const at = start + out.length;
      const page = await this.retry(`entries from ${at}`, () =>
        this.actor.entries(BigInt(at), BigInt(count - out.length)),
      );
      if (page.length === 0) break;
      for (const l of page) {
        const leaf = bytes(l.leaf);
        out.push({
          index: Number(l.index),
          leaf,
          leafHash: toHex(hashLeaf(leaf)),
          envelope: decodeEnvelope(leaf),
        });
      }
    }
    return out;
  }

  async size(): Promise<number> {
    return (await this.tip()).size;
  }

  /** Root of the first `size` leaves, proven: the certified root, or one consistent with it. */
  private async provenRoot(size: number, tip: VerifiedTip): Promise<Hash> {
    if (size === tip.size) return tip.root;
    if (size === 0) return EMPTY_ROOT;
    // The last leaf of the smaller tree and its audit path give that tree's root; a consistency
    // proof from it to the certified tip proves it.
    const leafHash = hashLeaf(await this.leafBytes(size - 1));
    const path = await this.proof("inclusion", () =>
      this.actor.inclusion_proof(BigInt(size - 1), BigInt(size)),
    );
    const root = rootFromInclusionProof(size - 1, size, leafHash, path);
    const proof = await this.proof("consistency", () =>
      this.actor.consistency_proof(BigInt(size), BigInt(tip.size)),
    );
    this.verifying(`the root served for size ${size} is not consistent with the certified tip`, () =>
      verifyConsistency(size, tip.size, proof, root, tip.root),
    );
    return root;
  }

  async root(size?: number): Promise<string> {
    if (size !== undefined) checkCount(size, "size");
    const tip = size === undefined ? await this.tip() : await this.tipCovering(size);
    return toHex(await this.provenRoot(size ?? tip.size, tip));
  }

  async inclusionProof(index: number, size?: number): Promise<InclusionProof> {
    checkCount(index, "index");
    if (size !== undefined) checkCount(size, "size");
    const tip = size === undefined ? await this.tip() : await this.tipCovering(size);
    const treeSize = size ?? tip.size;
    if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize)
      throw new ProofInputError(`index ${index} is beyond size ${treeSize}`);
    const root = await this.provenRoot(treeSize, tip);
    const leafHash = hashLeaf(await this.leafBytes(index));
    const proof = await this.proof("inclusion", () =>
      this.actor.inclusion_proof(BigInt(index), BigInt(treeSize)),
    );
    this.verifying(`inclusion proof for entry ${index} in size ${treeSize}`, () =>
      verifyInclusion(index, treeSize, leafHash, proof, root),
    );
    return {
      index,
      size: treeSize,
      leafHash: toHex(leafHash),
      auditPath: proof.map(toHex),
      root: toHex(root),
    };
  }

  async consistencyProof(from: number, to?: number): Promise<ConsistencyProof> {
    checkCount(from, "from");
    if (to !== undefined) checkCount(to, "to");
    const tip = to === undefined ? await this.tip() : await this.tipCovering(to);
    const toSize = to ?? tip.size;
    if (!Number.isSafeInteger(from) || from < 0 || from > toSize)
      throw new ProofInputError(`consistency sizes ${from} -> ${toSize}: want 0 <= from <= to`);
    const toRoot = await this.provenRoot(toSize, tip);
    const fromRoot = await this.provenRoot(from, tip);
    const proof =
      from === 0 || from === toSize
        ? []
        : await this.proof("consistency", () => this.actor.consistency_proof(BigInt(from), BigInt(toSize)));
    this.verifying(`consistency proof ${from} -> ${toSize}`, () =>
      verifyExtends(from, toSize, proof, fromRoot, toRoot),
    );
    return { from, to: toSize, fromRoot: toHex(fromRoot), toRoot: toHex(toRoot), proof: proof.map(toHex) };
  }

  /**
   * The receipt of a recorded key. The canister's answer is only a hint: the leaf it names is
   * fetched with its inclusion proof and must carry the key, and the receipt's tip is the
   * certified one. (A false "absent" is harmless: the caller appends, and gets a duplicate.)
   */
  async lookup(key: string): Promise<Receipt | undefined> {
    const [found] = await this.retry(`lookup of ${key}`, () => this.actor.lookup(key));
    if (found === undefined) return undefined;
    const { leaf, tip } = await this.provenLeaf(Number(found.index));
    if (leaf.envelope.entry.key !== key) {
      throw new IcVerificationError(
        `ic ledger ${this.canisterId}: lookup of ${JSON.stringify(key)} named entry ${leaf.index}, whose key is ${JSON.stringify(leaf.envelope.entry.key)}`,
      );
    }
    return {
      index: leaf.index,
      leafHash: leaf.leafHash,
      size: tip.size,
      root: toHex(tip.root),
      duplicate: true,
    };
  }

  /**
   * The certified tip as a checkpoint: origin "ic", the subnet's certificate (base64) as the
   * signature, the root key it chains to as the public key (hex DER), keyId ic:<canister>.
   */
  async checkpoint(): Promise<Checkpoint> {
    const tip = await this.tip();
    return {
      size: tip.size,
      root: toHex(tip.root),
      timestamp: tip.time.toISOString(),
      keyId: `ic:${this.canisterId}`,
      signature: Buffer.from(tip.certificate).toString("base64"),
      origin: "ic",
      publicKey: toHex(this.rootKey()),
    };
  }

  async close(): Promise<void> {}
}

export { IcAppendRefused, IcVerificationError } from "./errors.ts";
