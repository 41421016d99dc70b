// The RFC 8785 canonical JSON of a checked ledger entry, written field by field. An entry's
// envelope has fixed keys, so their order is known (UTF-16 code-unit order: cluster < data < key <
// kind < observedAt < subject < v; apiVersion < kind < name < namespace < uid): only the
// free-form `data` needs the general `canonicalize`, which sorts keys at run time. Strings are
// serialised as RFC 8785 §3.2.2.2 says, which is JSON.stringify's escaping; a string holding a
// lone surrogate is refused, as `canonicalize` refuses it. test/ledger/canonical-entry.test.ts
// checks the output byte for byte against `canonicalize` of the whole entry.
import canonicalize from "canonicalize";
import { EntryValidationError, type EntrySubject, type LedgerEntry } from "./entry.ts";

function text(value: string, field: string): string {
  if (!value.isWellFormed())
    throw new EntryValidationError(field, "holds a lone UTF-16 surrogate, which canonical JSON refuses");
  return JSON.stringify(value);
}

function dataText(data: Record<string, unknown>): string {
  let out: string | undefined;
  try {
    out = canonicalize(data);
  } catch (e: unknown) {
    throw new EntryValidationError("data", `cannot be serialised as canonical JSON: ${String(e)}`);
  }
  if (out === undefined) throw new EntryValidationError("data", "cannot be serialised as JSON");
  return out;
}

function subjectText(s: EntrySubject): string {
  let out = `{"apiVersion":${text(s.apiVersion, "subject.apiVersion")},"kind":${text(s.kind, "subject.kind")},"name":${text(s.name, "subject.name")}`;
  if (s.namespace !== undefined) out += `,"namespace":${text(s.namespace, "subject.namespace")}`;
  if (s.uid !== undefined) out += `,"uid":${text(s.uid, "subject.uid")}`;
  return `${out}}`;
}

/**
 * `canonicalize(entry)` for an entry as `prepareEntry` builds it: exactly the entry fields, a
 * subject with exactly its fields (optional ones absent, not undefined), `v` a small integer.
 */
export function canonicalEntryText(entry: LedgerEntry): string {
  return (
    `{"cluster":${text(entry.cluster, "cluster")},"data":${dataText(entry.data)},"key":${text(entry.key, "key")}` +
    `,"kind":${text(entry.kind, "kind")},"observedAt":${text(entry.observedAt, "observedAt")}` +
    `,"subject":${subjectText(entry.subject)},"v":${JSON.stringify(entry.v)}}`
  );
}
