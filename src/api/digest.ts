import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { ModelVersionSpec } from "./types.ts";

/**
 * The spec as signed: what the producer vouches for. Not the signatures themselves, and not the
 * lifecycle fields `revoked` and `reinstated`: those are acts of others after signing (an
 * operator on call revokes without the producer's key), and a revocation must not make the
 * model's own signature, its spec digest or its children's parent bindings fail.
 */
export function unsignedSpec(
  spec: ModelVersionSpec,
): Omit<ModelVersionSpec, "signatures" | "revoked" | "reinstated"> {
  const { signatures: _signatures, revoked: _revoked, reinstated: _reinstated, ...rest } = spec;
  return rest;
}

/** The bytes a signature covers: RFC 8785 canonical JSON of the spec without the fields above. */
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
