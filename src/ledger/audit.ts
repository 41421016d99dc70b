// An audit through the `Ledger` interface, for any backend: every leaf re-read, decoded and
// re-hashed, the tree rebuilt and its root compared with what the backend claims and with
// every checkpoint given. The file backend also has a deeper, on-disk audit (file/audit.ts).
import { CompactRange } from "./compact-range.ts";
import { decodeEnvelope } from "./envelope.ts";
import { toHex } from "./hash.ts";
import { hashLeaf } from "./merkle.ts";
import { verifyAnyCheckpoint } from "./checkpoint.ts";
import type { Checkpoint, Ledger, StoredLeaf } from "./ledger.ts";
import type { AuditResult } from "./file/audit.ts";

const PAGE = 512;

async function* leaves(ledger: Ledger, size: number): AsyncGenerator<StoredLeaf> {
  for (let next = 0; next < size;) {
    const page =
      ledger.readLeaves === undefined
        ? [await ledger.get(next)]
        : await ledger.readLeaves(next, Math.min(PAGE, size - next));
    if (page.length === 0)
      throw new Error(`the ledger served no entries from ${next} though it claims ${size}`);
    yield* page;
    next += page.length;
  }
}

export interface AuditOptions {
  /** The root key ic checkpoints must chain to (default: the IC mainnet key). */
  icRootKey?: Uint8Array;
  /** The key id the auditor expects (pinned out of band); the ledger's own must be the same. */
  keyId?: string;
}

export async function auditLedger(
  ledger: Ledger,
  checkpoints: Checkpoint[] = [],
  options: AuditOptions = {},
): Promise<AuditResult> {
  const size = await ledger.size();
  const keyId = ledger.origin.keyId;
  const range = new CompactRange();
  // Roots are kept only at the sizes some checkpoint names, not at every size.
  const wanted = new Set(checkpoints.map((c) => c.size));
  const rootsAt = new Map<number, string>([[0, toHex(range.root())]]);
  const keys = new Set<string>();
  const stop = (index: number | undefined, message: string): AuditResult => ({
    size,
    root: toHex(range.root()),
    keyId,
    checkpointsChecked: 0,
    problem: { index, message },
  });
  if (options.keyId !== undefined && options.keyId !== keyId)
    return stop(undefined, `the ledger's key is ${keyId ?? "not pinned"}, not the pinned ${options.keyId}`);
  const reader = leaves(ledger, size);
  for (let index = 0; index < size; index++) {
    let leaf;
    try {
      const next = await reader.next();
      if (next.done === true) return stop(index, "the ledger served fewer entries than it claims");
      leaf = next.value;
      if (leaf.index !== index)
        return stop(index, `the ledger served entry ${leaf.index} in place of ${index}`);
      decodeEnvelope(leaf.leaf);
    } catch (e: unknown) {
      return stop(index, e instanceof Error ? e.message : String(e));
    }
    const hash = toHex(hashLeaf(leaf.leaf));
    if (hash !== leaf.leafHash)
      return stop(index, `leaf hash ${hash} does not match the served ${leaf.leafHash}`);
    if (keys.has(leaf.envelope.entry.key))
      return stop(index, `key ${JSON.stringify(leaf.envelope.entry.key)} is recorded twice`);
    keys.add(leaf.envelope.entry.key);
    range.push(hashLeaf(leaf.leaf));
    if (wanted.has(index + 1)) rootsAt.set(index + 1, toHex(range.root()));
  }
  const root = toHex(range.root());
  const claimed = await ledger.root(size);
  if (claimed !== root) return stop(size, `the ledger claims root ${claimed}, its entries give ${root}`);
  for (const c of checkpoints) {
    // A checkpoint only speaks for the ledger that made it: another canister certifies its own tree.
    try {
      await verifyAnyCheckpoint(c, { keyId, icRootKey: options.icRootKey });
    } catch (e: unknown) {
      return stop(c.size, e instanceof Error ? e.message : String(e));
    }
    if (c.size > size)
      return stop(
        size,
        `checkpoint signed at size ${c.size} but the ledger has only ${size} entries: entries were removed`,
      );
    if (rootsAt.get(c.size) !== c.root)
      return stop(
        Math.max(0, c.size - 1),
        `root at size ${c.size} differs from the checkpoint's ${c.root}: history was rewritten`,
      );
  }
  return { size, root, keyId, checkpointsChecked: checkpoints.length };
}
