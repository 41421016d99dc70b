// What changed, in a form the ledger may keep for ever: a field-level JSON Patch (RFC 6902)
// between two redacted documents. Values of `env` entries, of probes' `httpHeaders` (an
// Authorization header) and of ConfigMap data may be secrets, so they are replaced by their
// SHA-256 before anything is compared; names stay in clear, and so do `valueFrom` references
// (a Secret's name and key, never its value, which the operator never reads).
// `env` lists become objects keyed by variable name, so a patch path names the variable
// (`/serving/env/LOG_LEVEL/value`) instead of its position in the list. Pure.
import { createHash } from "node:crypto";
import fastJsonPatch from "fast-json-patch";

/** One RFC 6902 operation, as recorded (only add/remove/replace come out of a comparison). */
export interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** The digest a secret-bearing value is recorded as. Low-entropy values can be guessed from it. */
export function valueDigest(value: string): string {
  return `sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** `[{name, value | valueFrom}]` -> `{name: {value: digest} | {valueFrom}}`; a list that is not one is kept. */
function redactEnv(env: unknown): unknown {
  if (!Array.isArray(env) || !env.every((e) => isObject(e) && typeof e["name"] === "string")) return env;
  const entries = (env as Array<Record<string, unknown>>).map((e) => {
    const { name, value, ...rest } = e;
    const redacted = typeof value === "string" ? { ...rest, value: valueDigest(value) } : { ...rest };
    return [String(name), redactDeep(redacted)] as const;
  });
  return Object.fromEntries(entries);
}

/** The lists of `{name, value}` whose values may be secrets. */
const NAMED_VALUES = new Set(["env", "httpHeaders"]);

/** Every `env` and `httpHeaders` list anywhere in the document, redacted; everything else as it is. */
export function redactDeep(doc: unknown): unknown {
  if (Array.isArray(doc)) return doc.map(redactDeep);
  if (!isObject(doc)) return doc;
  return Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k, NAMED_VALUES.has(k) ? redactEnv(v) : redactDeep(v)]),
  );
}

/** ConfigMap data (name -> key -> value, or key -> value) with every value as its digest. */
export function redactData(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [
      k,
      typeof v === "string" ? valueDigest(v) : isObject(v) ? redactData(v) : v,
    ]),
  );
}

/** The RFC 6902 patch that turns `from` into `to`; both must already be redacted. */
export function jsonPatch(from: unknown, to: unknown): PatchOp[] {
  const a = from === undefined || from === null ? {} : from;
  const b = to === undefined || to === null ? {} : to;
  if (!isObject(a) || !isObject(b)) return [{ op: "replace", path: "", value: b }];
  return fastJsonPatch.compare(a, b).map((op) => {
    const out: PatchOp = { op: op.op, path: op.path };
    if ("value" in op) out.value = op.value as unknown;
    return out;
  });
}

/** The keys a patch touches, as `/`-joined paths without JSON Pointer escapes (for messages). */
export function changedPaths(patch: readonly PatchOp[]): string[] {
  return patch.map((p) =>
    p.path
      .split("/")
      .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
      .join("/"),
  );
}
