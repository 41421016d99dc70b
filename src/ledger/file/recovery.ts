// Opening a ledger directory: bring the derived files (index, tree levels) in line with the
// durable segments, truncate only a torn record that was never acknowledged, and refuse —
// naming the entry — anything that looks like an acknowledged byte changed or gone.
import { hashLeaf } from "../merkle.ts";
import { decodeEnvelope, type LeafEnvelope } from "../envelope.ts";
import { sameHash, toHex } from "../hash.ts";
import { LedgerError } from "../errors.ts";
import { LedgerCorruptError } from "./errors.ts";
import {
  decodeHeader,
  decodeSlot,
  encodeSlot,
  HEADER_BYTES,
  RECORD_MAGIC,
  SLOT_BYTES,
  type IndexSlot,
} from "./record.ts";
import type { FixedSlotFile } from "./fixed-file.ts";
import type { SegmentStore } from "./segments.ts";

export interface RecoveryNotes {
  warn(message: string): void;
}

export interface IndexRecovery extends RecoveryNotes {
  dir: string;
  readOnly: boolean;
  /** Slots from here on were written since the last sync: they are re-read against their records. */
  reread: number;
}

/** Reads a slot's record and checks it is the record the slot says, at the index it claims. */
export function readRecord(segments: SegmentStore, slot: IndexSlot, index: number): Uint8Array {
  const buf = segments.readSync(slot.offset, HEADER_BYTES + slot.length);
  if (buf.byteLength < HEADER_BYTES + slot.length) {
    throw new LedgerCorruptError(
      index,
      `record at offset ${slot.offset} is cut short (segments end at ${segments.end})`,
    );
  }
  const header = decodeHeader(buf);
  if (header === undefined) throw new LedgerCorruptError(index, `no record header at offset ${slot.offset}`);
  if (header.index !== index)
    throw new LedgerCorruptError(index, `record at offset ${slot.offset} claims index ${header.index}`);
  if (header.length !== slot.length)
    throw new LedgerCorruptError(index, `record length ${header.length}, index says ${slot.length}`);
  const leaf = Uint8Array.from(buf.subarray(HEADER_BYTES));
  const computed = hashLeaf(leaf);
  if (!sameHash(computed, header.leafHash) || !sameHash(computed, slot.leafHash)) {
    throw new LedgerCorruptError(
      index,
      `leaf hash ${toHex(computed)} does not match the recorded ${toHex(slot.leafHash)}`,
    );
  }
  if (!sameHash(header.keyHash, slot.keyHash))
    throw new LedgerCorruptError(index, "key hash differs between record and index");
  return leaf;
}

/** What a write cut short by a crash leaves: a prefix of a record, or zeros (a file extended before its data reached the disk). */
function looksTorn(head: Buffer): boolean {
  const magic = RECORD_MAGIC.subarray(0, Math.min(RECORD_MAGIC.byteLength, head.byteLength));
  return head.every((b) => b === 0) || head.subarray(0, magic.byteLength).equals(magic);
}

/**
 * What follows the last indexed record, from `at`: complete records with the next indices
 * (durable, their index slots not written yet — a live writer's commit, or one a crash cut
 * short), each passed to `onRecord` once checked, and, at the end, perhaps a torn record that
 * was never acknowledged. Anything else is refused, naming the entry it would have been. Reads
 * only; a writer's `onRecord` keeps what was adopted before a refusal.
 */
export function inspectTail(
  segments: SegmentStore,
  at: number,
  next: number,
  onRecord: (slot: IndexSlot) => void = () => {},
): { tornAt: number | undefined } {
  for (; at < segments.end; next++) {
    const head = segments.readSync(at, Math.min(HEADER_BYTES, segments.end - at));
    const header = decodeHeader(head);
    const recordEnd = header === undefined ? Infinity : at + HEADER_BYTES + header.length;
    if (header === undefined || recordEnd > segments.end) {
      if (looksTorn(head)) return { tornAt: at };
      throw new LedgerCorruptError(
        next,
        `unrecognised bytes at offset ${at} after the last entry; refusing to truncate them`,
      );
    }
    if (header.index !== next)
      throw new LedgerCorruptError(next, `record past the index claims index ${header.index}`);
    const slot: IndexSlot = {
      offset: at,
      length: header.length,
      leafHash: header.leafHash,
      keyHash: header.keyHash,
    };
    readRecord(segments, slot, next);
    onRecord(slot);
    at = recordEnd;
  }
  return { tornAt: undefined };
}

/** Adopts complete records past the index (durable, index write lost) and drops a torn tail. */
function scanTail(segments: SegmentStore, index: FixedSlotFile, notes: RecoveryNotes): void {
  const indexed = index.count;
  let tornAt: number | undefined;
  try {
    ({ tornAt } = inspectTail(segments, endOfIndexed(segments, index), indexed, (slot) =>
      index.append(encodeSlot(slot)),
    ));
  } finally {
    if (index.count > indexed)
      notes.warn(
        `re-indexed entries ${indexed}..${index.count - 1}: their records were durable but the index writes were lost`,
      );
  }
  if (tornAt === undefined) return;
  notes.warn(
    `truncated ${segments.end - tornAt} bytes of a torn, never acknowledged record at entry ${index.count} (offset ${tornAt})`,
  );
  segments.truncate(tornAt);
}

/** Offset one past the last indexed record, after checking that record. */
export function endOfIndexed(segments: SegmentStore, index: FixedSlotFile): number {
  if (index.count === 0) return 0;
  const last = index.count - 1;
  const slot = decodeSlot(index.read(last));
  const end = slot.offset + HEADER_BYTES + slot.length;
  if (end > segments.end) {
    throw new LedgerCorruptError(
      last,
      `record needs bytes up to offset ${end} but the segments end at ${segments.end}: acknowledged data was truncated`,
    );
  }
  readRecord(segments, slot, last);
  return end;
}

/**
 * The index is derived, and a reader cannot rebuild it: a writer must open the ledger first.
 * Not retryable: the same read-only open fails until someone opens it for writing.
 */
export class IndexRecoveryNeeded extends LedgerError {
  readonly index: number;
  constructor(dir: string, index: number) {
    super(
      `ledger ${dir}: index slot ${index} does not follow entry ${index - 1} (a crash before the index reached the disk); a writable open rebuilds the index from the segments (start the operator, or run \`modelchain checkpoint --ledger ${dir}\`)`,
    );
    this.name = "IndexRecoveryNeeded";
    this.index = index;
  }
}

const CHUNK = 65_536;

/**
 * The first slot that does not start where the one before it ends, or is empty — what a slot
 * that never reached the disk looks like (zeros) — or undefined. Slots from `reread` on, written
 * since the index was last synced, must also match their records in the segments (re-read and
 * re-hashed); a mismatch there is corruption of the segments, not of the index.
 */
function firstMisplacedSlot(
  segments: SegmentStore,
  index: FixedSlotFile,
  reread: number,
): number | undefined {
  let expected = 0;
  for (let first = 0; first < index.count; first += CHUNK) {
    const buf = index.readRange(first, Math.min(CHUNK, index.count - first));
    for (let at = 0; at < buf.byteLength; at += SLOT_BYTES) {
      // Offset and length without decoding the whole slot: this runs over every slot at open.
      const offset = buf.readUInt32BE(at) * 2 ** 32 + buf.readUInt32BE(at + 4);
      const length = buf.readUInt32BE(at + 8);
      const i = first + at / SLOT_BYTES;
      if (offset !== expected || length === 0) return i;
      if (i >= reread) readRecord(segments, decodeSlot(buf, at), i);
      expected = offset + HEADER_BYTES + length;
    }
  }
  return undefined;
}

/**
 * Returns the number of entries after recovery. Every slot is checked to follow the one before
 * it; those from `notes.reread` on (not yet synced) are checked against their records too. A writer
 * rebuilds slots that fail from the segments; a reader, which changes nothing, refuses.
 */
export function recoverIndex(segments: SegmentStore, index: FixedSlotFile, notes: IndexRecovery): number {
  const misplaced = firstMisplacedSlot(segments, index, notes.reread);
  if (notes.readOnly) {
    if (misplaced !== undefined) throw new IndexRecoveryNeeded(notes.dir, misplaced);
    if (index.count > 0) endOfIndexed(segments, index);
    return index.count;
  }
  if (misplaced !== undefined) {
    notes.warn(
      `index slots from entry ${misplaced} on (${index.count - misplaced}) were not on disk after a crash: rebuilt from the segments`,
    );
    index.truncate(misplaced);
  } else if (index.tornBytes > 0) {
    notes.warn(`truncated ${index.tornBytes} bytes of a torn index slot after entry ${index.count - 1}`);
    index.truncate(index.count);
  }
  scanTail(segments, index, notes);
  return index.count;
}

/** Decodes a leaf that passed its hash check; a bad envelope is corruption at that index. */
export function decodeRecorded(leaf: Uint8Array, index: number): LeafEnvelope {
  try {
    return decodeEnvelope(leaf);
  } catch (e: unknown) {
    throw new LedgerCorruptError(index, e instanceof Error ? e.message : String(e), { cause: e });
  }
}
