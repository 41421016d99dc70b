// Opening a ledger directory: bring the derived files (index, tree levels) in line with the
// durable segments, truncate only a torn record that was never acknowledged, and refuse —
// naming the entry — anything that looks like an acknowledged byte changed or gone.
import { hashLeaf } from "../merkle.ts";
import { decodeEnvelope, type LeafEnvelope } from "../envelope.ts";
import { sameHash, toHex } from "../hash.ts";
import { LedgerCorruptError } from "./errors.ts";
import {
  decodeHeader,
  decodeSlot,
  encodeSlot,
  HEADER_BYTES,
  RECORD_MAGIC,
  type IndexSlot,
} from "./record.ts";
import type { FixedSlotFile } from "./fixed-file.ts";
import type { SegmentStore } from "./segments.ts";

export interface RecoveryNotes {
  warn(message: string): void;
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
 * short) and, at the end, perhaps a torn record that was never acknowledged. Anything else is
 * refused, naming the entry it would have been. Reads only.
 */
export function inspectTail(
  segments: SegmentStore,
  at: number,
  next: number,
): { records: IndexSlot[]; tornAt: number | undefined } {
  const records: IndexSlot[] = [];
  for (; at < segments.end; next++) {
    const head = segments.readSync(at, Math.min(HEADER_BYTES, segments.end - at));
    const header = decodeHeader(head);
    const recordEnd = header === undefined ? Infinity : at + HEADER_BYTES + header.length;
    if (header === undefined || recordEnd > segments.end) {
      if (looksTorn(head)) return { records, tornAt: at };
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
    records.push(slot);
    at = recordEnd;
  }
  return { records, tornAt: undefined };
}

/** Adopts complete records past the index (durable, index write lost) and drops a torn tail. */
function scanTail(segments: SegmentStore, index: FixedSlotFile, notes: RecoveryNotes): void {
  const first = index.count;
  const { records, tornAt } = inspectTail(segments, endOfIndexed(segments, index), first);
  records.forEach((slot, i) => {
    index.appendSync(encodeSlot(slot));
    notes.warn(`re-indexed entry ${first + i}: its record was durable but the index write was lost`);
  });
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

/** Returns the number of entries after recovery. Read-only opens change nothing. */
export function recoverIndex(
  segments: SegmentStore,
  index: FixedSlotFile,
  readOnly: boolean,
  notes: RecoveryNotes,
): number {
  if (readOnly) {
    if (index.count > 0) endOfIndexed(segments, index);
    return index.count;
  }
  if (index.tornBytes > 0) {
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
