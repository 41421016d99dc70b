import canonicalize from "canonicalize";
import { canonicalEntryText } from "./canonical-entry.ts";
import { LedgerError } from "./errors.ts";

/**
 * Versions of the entry format the ledger accepts. The fields are the same in every version;
 * a version names the key formats and data shapes of the kinds its writer used (src/trail).
 * The ledger records any kind: what the kinds mean is the trail's business, not the ledger's.
 */
export const ENTRY_FORMAT_VERSIONS: readonly number[] = [1, 2];

/**
 * An entry may not exceed this many bytes of canonical JSON: it then always fits in one
 * canister call under the IC's 2 MiB ingress limit, with room for its key and the Candid
 * framing, and the canister refuses larger ones by the same default, so every backend accepts
 * the same entries.
 */
export const MAX_ENTRY_BYTES = 1024 * 1024;

/** The Kubernetes object an entry speaks of. */
export interface EntrySubject {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

/** One recorded event, before the ledger stamps it (see `LeafEnvelope`). */
export interface LedgerEntry {
  v: number;
  kind: string;
  cluster: string;
  subject: EntrySubject;
  /** Idempotency key: a second append with the same key returns the first receipt. */
  key: string;
  /** RFC 3339 time the recorder observed the event. */
  observedAt: string;
  data: Record<string, unknown>;
}

/** The entry is not something the ledger can record; the message names the field. */
export class EntryValidationError extends LedgerError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`ledger entry: ${field} ${problem}`, { permanent: true });
    this.name = "EntryValidationError";
    this.field = field;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function requireString(obj: Record<string, unknown>, field: string, path = field): string {
  const value = obj[field];
  if (typeof value !== "string" || value.length === 0) {
    throw new EntryValidationError(path, "must be a non-empty string");
  }
  return value;
}

function optionalString(obj: Record<string, unknown>, field: string, path: string): string | undefined {
  const value = obj[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new EntryValidationError(path, "must be a string");
  return value;
}

function parseSubject(value: unknown): EntrySubject {
  if (!isRecord(value)) throw new EntryValidationError("subject", "must be an object");
  const subject: EntrySubject = {
    apiVersion: requireString(value, "apiVersion", "subject.apiVersion"),
    kind: requireString(value, "kind", "subject.kind"),
    name: requireString(value, "name", "subject.name"),
  };
  const namespace = optionalString(value, "namespace", "subject.namespace");
  const uid = optionalString(value, "uid", "subject.uid");
  if (namespace !== undefined) subject.namespace = namespace;
  if (uid !== undefined) subject.uid = uid;
  return subject;
}

/** An entry checked and serialised once: backends reuse the bytes for the leaf envelope. */
export interface PreparedEntry {
  entry: LedgerEntry;
  bytes: Uint8Array;
}

/**
 * Checks that `value` is a recordable entry and returns it typed. Unknown top-level fields
 * are refused so that a typo cannot silently drop data from the record.
 */
export function parseEntry(value: unknown): LedgerEntry {
  return prepareEntry(value).entry;
}

const ENTRY_FIELDS = new Set(["v", "kind", "cluster", "subject", "key", "observedAt", "data"]);
const encoder = new TextEncoder();

export function prepareEntry(value: unknown): PreparedEntry {
  if (!isRecord(value)) throw new EntryValidationError("entry", "must be a JSON object");
  for (const field of Object.keys(value)) {
    if (!ENTRY_FIELDS.has(field)) throw new EntryValidationError(field, "is not a ledger entry field");
  }
  const v = value["v"];
  if (typeof v !== "number" || !ENTRY_FORMAT_VERSIONS.includes(v)) {
    throw new EntryValidationError("v", `must be one of ${ENTRY_FORMAT_VERSIONS.join(", ")}`);
  }
  const data = value["data"] ?? {};
  if (!isRecord(data)) throw new EntryValidationError("data", "must be an object");
  const entry: LedgerEntry = {
    v,
    kind: requireString(value, "kind"),
    cluster: requireString(value, "cluster"),
    subject: parseSubject(value["subject"]),
    key: requireString(value, "key"),
    observedAt: requireString(value, "observedAt"),
    data,
  };
  // Byte for byte what `encodeEntry` gives, without sorting the fixed keys at run time.
  const bytes = encoder.encode(canonicalEntryText(entry));
  if (bytes.byteLength > MAX_ENTRY_BYTES) {
    throw new EntryValidationError(
      "entry",
      `is ${bytes.byteLength} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`,
    );
  }
  return { entry, bytes };
}

/** RFC 8785 canonical JSON, UTF-8. Throws on values JSON cannot represent. */
export function canonicalBytes(value: unknown): Uint8Array {
  const text = canonicalize(value);
  if (text === undefined) throw new EntryValidationError("entry", "cannot be serialised as JSON");
  return encoder.encode(text);
}

/** The canonical bytes of an entry: what the canister receives as `entry`. */
export function encodeEntry(entry: LedgerEntry): Uint8Array {
  return canonicalBytes(entry);
}
