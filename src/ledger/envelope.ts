import { canonicalBytes, prepareEntry, type PreparedEntry, type LedgerEntry } from "./entry.ts";
import { LedgerError } from "./errors.ts";

/**
 * What a leaf commits to: the entry, when it was recorded and by whom. The leaf's bytes are
 * the RFC 8785 canonical JSON of this object, in every backend:
 *   file backend: recordedBy = "file:<checkpoint key id>", recordedAt = wall clock;
 *   ic backend:   recordedBy = the caller principal, recordedAt = ic0.time.
 * recordedAt is nanoseconds since the Unix epoch as a decimal string: JSON numbers lose
 * precision above 2^53, and IC time is a u64 of nanoseconds.
 */
export interface LeafEnvelope {
  entry: LedgerEntry;
  recordedAt: string;
  recordedBy: string;
}

export class EnvelopeDecodeError extends LedgerError {
  constructor(message: string, options?: ErrorOptions) {
    super(`leaf envelope: ${message}`, options);
    this.name = "EnvelopeDecodeError";
  }
}

export function encodeEnvelope(envelope: LeafEnvelope): Uint8Array {
  return envelopeBytes(canonicalBytes(envelope.entry), envelope.recordedAt, envelope.recordedBy);
}

const encoder = new TextEncoder();
/** The bytes before an entry's in its leaf envelope. */
export const ENVELOPE_HEAD: Uint8Array = encoder.encode('{"entry":');

/** The bytes after an entry's in its leaf envelope: the same for every entry of a commit. */
export function envelopeTail(recordedAt: string, recordedBy: string): Uint8Array {
  return encoder.encode(
    `,"recordedAt":${JSON.stringify(recordedAt)},"recordedBy":${JSON.stringify(recordedBy)}}`,
  );
}

/**
 * The canonical envelope spliced around an entry's canonical bytes: keys sort as entry <
 * recordedAt < recordedBy, and RFC 8785 serialises strings as JSON.stringify does. The
 * canister builds the same bytes the same way; `decodeEnvelope` re-checks canonical form.
 */
export function envelopeBytes(entryBytes: Uint8Array, recordedAt: string, recordedBy: string): Uint8Array {
  const tail = envelopeTail(recordedAt, recordedBy);
  const out = new Uint8Array(ENVELOPE_HEAD.byteLength + entryBytes.byteLength + tail.byteLength);
  out.set(ENVELOPE_HEAD, 0);
  out.set(entryBytes, ENVELOPE_HEAD.byteLength);
  out.set(tail, ENVELOPE_HEAD.byteLength + entryBytes.byteLength);
  return out;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses leaf bytes and checks they are exactly the canonical encoding of what they parse
 * to, so that two different byte strings can never stand for the same recorded event.
 */
export function decodeEnvelope(bytes: Uint8Array): LeafEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (e: unknown) {
    throw new EnvelopeDecodeError("not UTF-8 JSON", { cause: e });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new EnvelopeDecodeError("not a JSON object");
  }
  const { entry, recordedAt, recordedBy, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new EnvelopeDecodeError(`unexpected field ${Object.keys(rest)[0]}`);
  if (typeof recordedAt !== "string" || !/^\d+$/.test(recordedAt)) {
    throw new EnvelopeDecodeError("recordedAt must be a decimal string of nanoseconds");
  }
  if (typeof recordedBy !== "string" || recordedBy.length === 0) {
    throw new EnvelopeDecodeError("recordedBy must be a non-empty string");
  }
  let prepared: PreparedEntry;
  try {
    prepared = prepareEntry(entry);
  } catch (e: unknown) {
    throw new EnvelopeDecodeError("entry is invalid", { cause: e });
  }
  const envelope = { entry: prepared.entry, recordedAt, recordedBy };
  // The entry's canonical bytes come with its check: the envelope is not serialised twice.
  if (!sameBytes(envelopeBytes(prepared.bytes, recordedAt, recordedBy), bytes)) {
    throw new EnvelopeDecodeError("bytes are not the canonical JSON encoding");
  }
  return envelope;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Nanoseconds since the epoch, as the envelope carries them. */
export function nowNanos(clock: () => number = Date.now): string {
  return (BigInt(clock()) * 1_000_000n).toString();
}
