import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { ModelVersionSpec } from "./types.ts";

/** The spec as signed: everything but the signatures themselves. */
export function unsignedSpec(spec: ModelVersionSpec): Omit<ModelVersionSpec, "signatures"> {
  const { signatures: _signatures, ...rest } = spec;
  return rest;
}

/** The bytes a signature covers: RFC 8785 canonical JSON of the spec without `signatures`. */
export function signedPayload(spec: ModelVersionSpec): Uint8Array {
  const text = canonicalize(unsignedSpec(spec));
  if (text === undefined) throw new TypeError("spec cannot be serialised as JSON");
  return new TextEncoder().encode(text);
}

/** "sha256:<hex>" of the signed payload: what the ledger records and the webhook compares. */
export function specDigest(spec: ModelVersionSpec): string {
  return `sha256:${createHash("sha256").update(signedPayload(spec)).digest("hex")}`;
}

/** "sha256:<hex>" of any JSON value's canonical form (serving config hashes and the like). */
export function canonicalDigest(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value cannot be serialised as JSON");
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}
