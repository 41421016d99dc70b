// On-disk layout of one entry. Segments hold records; the index holds one slot per entry.
//
//   record = header(64) ‖ leaf bytes
//   header = "MCL1" ‖ u64be index ‖ u32be length ‖ leafHash(32) ‖ keyHash(16)
//   slot   = u64be offset ‖ u32be length ‖ u32 zero ‖ leafHash(32) ‖ keyHash(16)
//
// The header repeats the index and hashes so that segments alone can rebuild the index after
// a crash, and so that a moved or edited record is caught with the entry index it claims.
import { sha256, type Hash } from "../hash.ts";
import { ENVELOPE_HEAD } from "../envelope.ts";

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

const encoder = new TextEncoder();

export function keyHashOf(key: string): Uint8Array {
  return sha256(encoder.encode(key)).subarray(0, KEY_HASH_BYTES);
}

/** A u64be of a safe integer, without a BigInt. */
function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / 2 ** 32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

/** Bytes of the record of an entry whose canonical bytes are `entryBytes`, enveloped with `tail`. */
export function recordBytes(entryBytes: Uint8Array, tail: Uint8Array): number {
  return HEADER_BYTES + ENVELOPE_HEAD.byteLength + entryBytes.byteLength + tail.byteLength;
}

/**
 * Writes the record of `entry.index` at `at` in `buf` — its leaf the envelope of `entryBytes`
 * (envelope.ts) built in place — and returns the leaf's length and RFC 6962 leaf hash. The hash
 * is taken over the header's last byte, set to the leaf prefix 0x00, and the leaf, before the key
 * hash is written over that byte: the leaf is never copied to be hashed.
 */
export function writeRecord(
  buf: Buffer,
  at: number,
  entry: { index: number; entryBytes: Uint8Array; keyHash: Uint8Array },
  tail: Uint8Array,
): { length: number; leafHash: Hash } {
  const { index, entryBytes, keyHash } = entry;
  const leafAt = at + HEADER_BYTES;
  buf.set(ENVELOPE_HEAD, leafAt);
  buf.set(entryBytes, leafAt + ENVELOPE_HEAD.byteLength);
  buf.set(tail, leafAt + ENVELOPE_HEAD.byteLength + entryBytes.byteLength);
  const length = ENVELOPE_HEAD.byteLength + entryBytes.byteLength + tail.byteLength;
  buf[leafAt - 1] = 0x00;
  const leafHash = sha256(buf.subarray(leafAt - 1, leafAt + length));
  writeHeader(buf, at, { index, length, leafHash, keyHash });
  return { length, leafHash };
}

function writeHeader(buf: Buffer, at: number, header: RecordHeader): void {
  RECORD_MAGIC.copy(buf, at);
  writeU64(buf, header.index, at + 4);
  buf.writeUInt32BE(header.length, at + 12);
  buf.set(header.leafHash, at + 16);
  buf.set(header.keyHash, at + 48);
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
  writeSlot(buf, 0, slot);
  return buf;
}

/** Writes a slot at `at` in `buf` (zeroed, as from Buffer.alloc). */
export function writeSlot(buf: Buffer, at: number, slot: IndexSlot): void {
  writeU64(buf, slot.offset, at);
  buf.writeUInt32BE(slot.length, at + 8);
  buf.set(slot.leafHash, at + 16);
  buf.set(slot.keyHash, at + 48);
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
