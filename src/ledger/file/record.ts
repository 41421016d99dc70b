// On-disk layout of one entry. Segments hold records; the index holds one slot per entry.
//
//   record = header(64) ‖ leaf bytes
//   header = "MCL1" ‖ u64be index ‖ u32be length ‖ leafHash(32) ‖ keyHash(16)
//   slot   = u64be offset ‖ u32be length ‖ u32 zero ‖ leafHash(32) ‖ keyHash(16)
//
// The header repeats the index and hashes so that segments alone can rebuild the index after
// a crash, and so that a moved or edited record is caught with the entry index it claims.
import { sha256 } from "../hash.ts";

export const RECORD_MAGIC = Buffer.from("MCL1", "ascii");
export const HEADER_BYTES = 64;
export const SLOT_BYTES = 64;
export const KEY_HASH_BYTES = 16;

export interface RecordHeader {
  index: number;
  length: number;
  leafHash: Uint8Array;
  keyHash: Uint8Array;
}

export interface IndexSlot {
  offset: number;
  length: number;
  leafHash: Uint8Array;
  keyHash: Uint8Array;
}

export function keyHashOf(key: string): Uint8Array {
  return sha256(new TextEncoder().encode(key)).subarray(0, KEY_HASH_BYTES);
}

export function encodeRecord(header: RecordHeader, leaf: Uint8Array): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES + leaf.byteLength);
  RECORD_MAGIC.copy(buf, 0);
  buf.writeBigUInt64BE(BigInt(header.index), 4);
  buf.writeUInt32BE(header.length, 12);
  buf.set(header.leafHash, 16);
  buf.set(header.keyHash, 48);
  buf.set(leaf, HEADER_BYTES);
  return buf;
}

/** Returns undefined when the bytes do not start with the record magic. */
export function decodeHeader(buf: Buffer): RecordHeader | undefined {
  if (buf.byteLength < HEADER_BYTES || !buf.subarray(0, 4).equals(RECORD_MAGIC)) return undefined;
  return {
    index: Number(buf.readBigUInt64BE(4)),
    length: buf.readUInt32BE(12),
    leafHash: Uint8Array.from(buf.subarray(16, 48)),
    keyHash: Uint8Array.from(buf.subarray(48, 64)),
  };
}

export function encodeSlot(slot: IndexSlot): Buffer {
  const buf = Buffer.alloc(SLOT_BYTES);
  buf.writeBigUInt64BE(BigInt(slot.offset), 0);
  buf.writeUInt32BE(slot.length, 8);
  buf.set(slot.leafHash, 16);
  buf.set(slot.keyHash, 48);
  return buf;
}

export function decodeSlot(buf: Buffer, at = 0): IndexSlot {
  return {
    offset: Number(buf.readBigUInt64BE(at)),
    length: buf.readUInt32BE(at + 8),
    leafHash: Uint8Array.from(buf.subarray(at + 16, at + 48)),
    keyHash: Uint8Array.from(buf.subarray(at + 48, at + 64)),
  };
}

/** The leaf hashes of a run of index slots. */
export function leafHashesOfSlots(slots: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < slots.byteLength; at += SLOT_BYTES)
    out.push(Uint8Array.from(slots.subarray(at + 16, at + 48)));
  return out;
}
