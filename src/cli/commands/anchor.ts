// Anchoring a file ledger on the IC: the operator appends each published checkpoint to the
// ledger canister (an AnchoredCheckpoint entry, stamped with IC time and certified by the
// subnet), and `verify --anchor` checks the local ledger against every root anchored there.
import {
  CompactRange,
  checkExtends,
  FileLedger,
  ForkDetectedError,
  hashLeaf,
  logVerifier,
  openCheckpointNote,
  openLedger,
  originOf,
  parseCheckpointBody,
  parseNote,
  toHex,
  type Checkpoint,
  type CheckpointSink,
  type Ledger,
  type StoredLeaf,
} from "../../ledger/index.ts";
import { readIdentity } from "../../ledger/file/identity.ts";
import { createPublicKey } from "node:crypto";
import {
  anchoredCheckpointEntry,
  anchoredCheckpointOf,
  type AnchoredCheckpointData,
} from "../../trail/index.ts";
import { CheckFailedError } from "../output.ts";

export function anchorSink(url: string, cluster: string): CheckpointSink {
  let anchor: Promise<Ledger> | undefined;
  return {
    name: `anchor ${url.split("?")[0] ?? url}`,
    async deliver(c: Checkpoint) {
      if (c.note === undefined) throw new Error(`checkpoint at size ${c.size} has no signed note to anchor`);
      const head = parseCheckpointBody(parseNote(c.note).body);
      anchor ??= openLedger(url);
      const ledger = await anchor.catch((e: unknown) => {
        anchor = undefined;
        throw e;
      });
      await ledger.append([anchoredCheckpointEntry(head, c.note, cluster, new Date())]);
    },
  };
}

export interface Anchored extends AnchoredCheckpointData {
  /** Its index in the canister, and the IC time it was recorded at (ns since the epoch). */
  index: number;
  recordedAt: string;
}

async function* leaves(ledger: Ledger, size: number): AsyncGenerator<StoredLeaf> {
  for (let next = 0; next < size;) {
    const page =
      ledger.readLeaves === undefined
        ? [await ledger.get(next)]
        : await ledger.readLeaves(next, Math.min(512, size - next));
    if (page.length === 0)
      throw new CheckFailedError(`the canister served no entries from ${next} of ${size}`);
    yield* page;
    next += page.length;
  }
}

/** Every checkpoint of `origin` anchored in the canister, each leaf proven by the certified root. */
export async function anchoredCheckpoints(url: string, origin: string): Promise<Anchored[]> {
  const ledger = await openLedger(url, { readOnly: true });
  try {
    const size = await ledger.size();
    const range = new CompactRange();
    const found: Anchored[] = [];
    for await (const leaf of leaves(ledger, size)) {
      range.push(hashLeaf(leaf.leaf));
      const anchored = anchoredCheckpointOf(leaf.envelope.entry);
      if (anchored?.origin === origin)
        found.push({ ...anchored, index: leaf.index, recordedAt: leaf.envelope.recordedAt });
    }
    const certified = await ledger.root(size);
    if (toHex(range.root()) !== certified)
      throw new CheckFailedError(
        `the canister's entries give root ${toHex(range.root())}, its certified root at size ${size} is ${certified}`,
      );
    return found;
  } finally {
    await ledger.close();
  }
}

const at = (a: Anchored): string =>
  `anchored checkpoint #${a.index} (size ${a.size}, root ${a.root}, recorded ${new Date(Number(BigInt(a.recordedAt) / 1_000_000n)).toISOString()})`;

/** That the ledger in `dir` extends every root anchored for it; names the first one it contradicts. */
export async function checkAnchors(dir: string, url: string): Promise<string> {
  const identity = readIdentity(dir);
  if (identity === undefined)
    throw new CheckFailedError(`anchor: ${dir} has no ledger.json, so no origin to look up`);
  const origin = originOf(identity.keyId);
  const log = logVerifier(origin, createPublicKey(identity.publicKey));
  const anchors = await anchoredCheckpoints(url, origin);
  if (anchors.length === 0)
    throw new CheckFailedError(
      `anchor: ${url.split("?")[0] ?? url} holds no anchored checkpoint of ${origin}`,
    );
  const local = await FileLedger.open(dir, { readOnly: true });
  try {
    const size = await local.size();
    const head = { origin, size, root: await local.root() };
    for (const a of anchors) {
      const signed = openCheckpointNote(a.checkpoint, log).head;
      if (signed.size !== a.size || signed.root !== a.root)
        throw new CheckFailedError(
          `anchor: ${at(a)} does not match the note it carries (size ${signed.size}, root ${signed.root})`,
        );
      const proof = a.size === 0 || a.size > size ? [] : (await local.consistencyProof(a.size, size)).proof;
      try {
        checkExtends(signed, head, proof);
      } catch (e: unknown) {
        if (!(e instanceof ForkDetectedError)) throw e;
        throw new CheckFailedError(
          `anchor: the local ledger (size ${size}, root ${head.root}) contradicts ${at(a)}: ${e.message}`,
          { cause: e },
        );
      }
    }
    const last = anchors[anchors.length - 1] as Anchored;
    return `consistent with ${anchors.length} anchored checkpoint(s), the latest ${at(last)}`;
  } finally {
    await local.close();
  }
}
