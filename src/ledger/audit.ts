// An audit through the `Ledger` interface, for any backend: every leaf re-read, decoded and
// re-hashed, the tree rebuilt and its root compared with what the backend claims and with
// every checkpoint given. The file backend also has a deeper, on-disk audit (file/audit.ts).
import { CompactRange } from "./compact-range.ts";
import { decodeEnvelope } from "./envelope.ts";
import { toHex } from "./hash.ts";
import { hashLeaf } from "./merkle.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import type { Checkpoint, Ledger } from "./ledger.ts";
import type { AuditResult } from "./file/audit.ts";

export async function auditLedger(ledger: Ledger, checkpoints: Checkpoint[] = []): Promise<AuditResult> {
  const size = await ledger.size();
  const range = new CompactRange();
  const rootsAt = new Map<number, string>([[0, toHex(range.root())]]);
  const keys = new Set<string>();
  const stop = (index: number, message: string): AuditResult => ({ size, root: toHex(range.root()), checkpointsChecked: 0, problem: { index, message } });
  for (let index = 0; index < size; index++) {
    let leaf;
    try {
      leaf = await ledger.get(index);
      decodeEnvelope(leaf.leaf);
    } catch (e: unknown) {
      return stop(index, e instanceof Error ? e.message : String(e));
    }
    const hash = toHex(hashLeaf(leaf.leaf));
    if (hash !== leaf.leafHash) return stop(index, `leaf hash ${hash} does not match the served ${leaf.leafHash}`);
    if (keys.has(leaf.envelope.entry.key)) return stop(index, `key ${JSON.stringify(leaf.envelope.entry.key)} is recorded twice`);
    keys.add(leaf.envelope.entry.key);
    range.push(hashLeaf(leaf.leaf));
    rootsAt.set(index + 1, toHex(range.root()));
  }
  const root = toHex(range.root());
  const claimed = await ledger.root(size);
  if (claimed !== root) return stop(size, `the ledger claims root ${claimed}, its entries give ${root}`);
  for (const c of checkpoints) {
    try {
      if (c.origin !== "ic") verifyCheckpoint(c);
    } catch (e: unknown) {
      return stop(c.size, e instanceof Error ? e.message : String(e));
    }
    if (c.size > size) return stop(size, `checkpoint signed at size ${c.size} but the ledger has only ${size} entries: entries were removed`);
    if (rootsAt.get(c.size) !== c.root) return stop(Math.max(0, c.size - 1), `root at size ${c.size} differs from the checkpoint's ${c.root}: history was rewritten`);
  }
  return { size, root, checkpointsChecked: checkpoints.length };
}
