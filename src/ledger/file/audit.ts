// A full audit of a ledger directory, read-only: the ledger's identity (ledger.json) read and
// compared with any key the auditor pinned, every record re-read and re-hashed and checked to be
// recorded by that key, every offset checked for contiguity, every stored tree node recomputed,
// every checkpoint checked to be signed by that key and against the root at its size. Stops at
// the first problem and names the entry index.
import type { KeyObject } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CompactRange } from "../compact-range.ts";
import { sameHash, toHex } from "../hash.ts";
import { keyIdOf, verifyCheckpoint, type CheckpointTrust } from "../checkpoint.ts";
import type { Checkpoint } from "../ledger.ts";
import { IDENTITY_FILE, LedgerIdentityError, readIdentity, trustOf } from "./identity.ts";
import { LedgerCorruptError, LedgerOpenFailed } from "./errors.ts";
import { FixedSlotFile } from "./fixed-file.ts";
import { readLatestCheckpoint } from "./keys.ts";
import { decodeSlot, HEADER_BYTES, keyHashOf, SLOT_BYTES } from "./record.ts";
import { decodeRecorded, inspectTail, readRecord } from "./recovery.ts";
import { SegmentStore } from "./segments.ts";

export interface AuditProblem {
  /** The first bad entry; undefined when the problem is the ledger's identity, not an entry. */
  index: number | undefined;
  message: string;
}

export interface AuditResult {
  size: number;
  root: string;
  /** The ledger's key id (its identity), when it has one. */
  keyId: string | undefined;
  checkpointsChecked: number;
  problem?: AuditProblem;
}

/** What an auditor pins out of band: the ledger's key id, or its public key. */
export interface AuditPins {
  keyId?: string;
  publicKey?: KeyObject;
}

class AuditStop extends Error {
  readonly problem: AuditProblem;
  constructor(index: number | undefined, message: string) {
    super(message);
    this.problem = { index, message };
  }
}

interface AuditState {
  /** "file:<key id>": what every entry's recordedBy must be. */
  recorder: string;
  range: CompactRange;
  offset: number;
  keys: Set<string>;
  levels: Map<number, FixedSlotFile | undefined>;
  rootsAt: Map<number, string>;
}

function levelFile(dir: string, state: AuditState, level: number): FixedSlotFile | undefined {
  if (!state.levels.has(level)) {
    state.levels.set(
      level,
      FixedSlotFile.openIfPresent(join(dir, "tree", `level-${String(level).padStart(2, "0")}`), 32),
    );
  }
  return state.levels.get(level);
}

function auditEntry(
  dir: string,
  segments: SegmentStore,
  slotBytes: Buffer,
  index: number,
  state: AuditState,
): void {
  const slot = decodeSlot(slotBytes);
  if (slot.offset !== state.offset) {
    throw new AuditStop(
      index,
      `record starts at offset ${slot.offset}, expected ${state.offset}: a record was removed, inserted or reordered`,
    );
  }
  const envelope = decodeRecorded(readRecord(segments, slot, index), index);
  if (envelope.recordedBy !== state.recorder)
    throw new AuditStop(
      index,
      `recorded by ${envelope.recordedBy}, not by the ledger's key ${state.recorder}`,
    );
  if (!sameHash(keyHashOf(envelope.entry.key), slot.keyHash))
    throw new AuditStop(index, "key hash in the index does not match the entry's key");
  const keyId = Buffer.from(slot.keyHash).toString("base64");
  if (state.keys.has(keyId))
    throw new AuditStop(index, `key ${JSON.stringify(envelope.entry.key)} is recorded twice`);
  state.keys.add(keyId);
  state.offset += HEADER_BYTES + slot.length;
  for (const node of state.range.push(slot.leafHash)) {
    const stored = levelFile(dir, state, node.level);
    if (stored !== undefined && node.index < stored.count && !sameHash(stored.read(node.index), node.hash)) {
      throw new AuditStop(
        index,
        `stored tree node at level ${node.level} #${node.index} differs from the entries`,
      );
    }
  }
  if (state.rootsAt.has(index + 1)) state.rootsAt.set(index + 1, toHex(state.range.root()));
}

function checkCheckpoints(
  checkpoints: Checkpoint[],
  state: AuditState,
  size: number,
  trust: CheckpointTrust,
): void {
  for (const c of checkpoints) {
    try {
      verifyCheckpoint(c, trust);
    } catch (e: unknown) {
      throw new AuditStop(c.size, e instanceof Error ? e.message : String(e));
    }
    if (c.size > size)
      throw new AuditStop(
        size,
        `checkpoint signed at size ${c.size} but the ledger has only ${size} entries: entries were removed`,
      );
    const root = c.size === 0 ? toHex(new CompactRange().root()) : state.rootsAt.get(c.size);
    if (root !== c.root)
      throw new AuditStop(
        c.size - 1,
        `root at size ${c.size} is ${root ?? "unknown"}, checkpoint signed ${c.root}: history was rewritten`,
      );
  }
}

/**
 * The key the audit holds the ledger to: the one its ledger.json names, which must be the one
 * the auditor pinned, if any. Without a pin this proves the directory agrees with itself; an
 * attacker who rewrote every file (entries, identity, key, checkpoints) is caught only by a pin.
 */
function auditedKey(dir: string, pins: AuditPins): { keyId: string; trust: CheckpointTrust } {
  let identity;
  try {
    identity = readIdentity(dir);
  } catch (e: unknown) {
    if (e instanceof LedgerIdentityError) throw new AuditStop(undefined, e.message);
    throw e;
  }
  if (identity === undefined)
    throw new AuditStop(
      undefined,
      `${IDENTITY_FILE} is missing, so no key speaks for this ledger (a writable open of a ledger made before identity files writes it, once its key matches the entries)`,
    );
  const pinned = pins.publicKey === undefined ? pins.keyId : keyIdOf(pins.publicKey);
  if (pinned !== undefined && pinned !== identity.keyId)
    throw new AuditStop(
      undefined,
      `the ledger's key is ${identity.keyId} (${IDENTITY_FILE}), not the pinned ${pinned}`,
    );
  const trust =
    pins.publicKey === undefined ? trustOf(identity) : { keyId: pinned, publicKey: pins.publicKey };
  return { keyId: identity.keyId, trust };
}

function auditEntries(dir: string, segments: SegmentStore, index: FixedSlotFile, state: AuditState): void {
  const size = index.count;
  const chunk = 4096;
  for (let first = 0; first < size; first += chunk) {
    const slots = index.readRange(first, Math.min(chunk, size - first));
    for (let i = 0; i * SLOT_BYTES < slots.byteLength; i++) {
      auditEntry(dir, segments, slots.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES), first + i, state);
    }
  }
  // Past the indexed prefix: a commit in flight, or one a crash cut short. Only bytes that are
  // neither are a problem.
  inspectTail(segments, state.offset, size);
}

export async function auditFileLedger(
  dir: string,
  given: Checkpoint[] = [],
  pins: AuditPins = {},
): Promise<AuditResult> {
  if (!existsSync(join(dir, "index"))) throw new LedgerOpenFailed(`${dir} holds no ledger (no index file)`);
  // Beside a live writer: the checkpoint, then the index, then the segments. A writer signs only
  // what it has indexed, and indexes only what is in the segments, so each covers the one before.
  const latest = readLatestCheckpoint(dir);
  const index = FixedSlotFile.open(join(dir, "index"), SLOT_BYTES, true);
  const segments = SegmentStore.open(join(dir, "segments"), { readOnly: true });
  const checkpoints = latest === undefined ? given : [latest, ...given];
  const state: AuditState = {
    recorder: "",
    range: new CompactRange(),
    offset: 0,
    keys: new Set(),
    levels: new Map(),
    rootsAt: new Map(checkpoints.map((c) => [c.size, ""])),
  };
  const size = index.count;
  let keyId: string | undefined;
  const result = (problem?: AuditProblem): AuditResult => ({
    size,
    root: toHex(state.range.root()),
    keyId,
    checkpointsChecked: problem === undefined ? checkpoints.length : 0,
    ...(problem === undefined ? {} : { problem }),
  });
  try {
    const audited = auditedKey(dir, pins);
    keyId = audited.keyId;
    state.recorder = `file:${audited.keyId}`;
    auditEntries(dir, segments, index, state);
    checkCheckpoints(checkpoints, state, size, audited.trust);
    return result();
  } catch (e: unknown) {
    if (e instanceof AuditStop) return result(e.problem);
    if (e instanceof LedgerCorruptError) return result({ index: e.index, message: e.message });
    throw e;
  } finally {
    await index.close();
    for (const file of state.levels.values()) await file?.close();
    await segments.close();
  }
}
