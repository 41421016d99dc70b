import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { signedPayload } from "../api/index.ts";
import type { Ed25519Signature, ModelVersionSpec, Signature } from "../api/index.ts";

/** Key id of an ed25519 public key: hex of the first 16 bytes of SHA-256 over its raw 32 bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new TypeError("not an ed25519 public key");
  return createHash("sha256").update(Buffer.from(jwk.x, "base64url")).digest("hex").slice(0, 32);
}

/** Signs the spec's canonical payload; the caller appends the result to spec.signatures. */
export function signSpec(spec: ModelVersionSpec, privateKey: KeyObject): Ed25519Signature {
  const keyId = keyIdOf(createPublicKey(privateKey));
  return { keyId, signature: sign(null, signedPayload(spec), privateKey).toString("base64") };
}

const keyCache = new Map<string, KeyObject | Error>();

/** Parses a PEM public key once; a bad PEM is remembered as the error it gave. */
export function publicKeyFromPem(pem: string): KeyObject | Error {
  let key = keyCache.get(pem);
  if (key === undefined) {
    try {
      key = createPublicKey(pem);
    } catch (e: unknown) {
      key = e instanceof Error ? e : new Error(String(e));
    }
    keyCache.set(pem, key);
  }
  return key;
}

/**
 * Outcomes of ed25519 checks already made, per key: SHA-256 of the payload and the signature's
 * text, to whether it verified. A verification is a pure function of (key, payload, signature),
 * so its answer can be kept; what is kept is bounded, the oldest forgotten first. The same
 * signature is checked again and again: on every re-applied or dry-run ModelVersion (GitOps diffs,
 * `kubectl apply` of an unchanged file), and for every ancestor each time a verdict is re-computed.
 */
const verified = new WeakMap<KeyObject, Map<string, boolean>>();
/** Checks remembered per key (about 200 bytes each). */
export const VERIFIED_PER_KEY = 4096;

function remembered(key: KeyObject): Map<string, boolean> {
  let outcomes = verified.get(key);
  if (outcomes === undefined) {
    outcomes = new Map();
    verified.set(key, outcomes);
  }
  return outcomes;
}

/** How many checks are remembered for the key (for tests). */
export function rememberedVerifications(key: KeyObject): number {
  return verified.get(key)?.size ?? 0;
}

export function signatureVerifies(spec: ModelVersionSpec, signature: Signature, key: KeyObject): boolean {
  try {
    if (signature.signature === undefined) return false;
    const payload = signedPayload(spec);
    // The signature as written: one text decodes to one byte string, so to one outcome.
    const id = `${createHash("sha256").update(payload).digest("base64")} ${signature.signature}`;
    const outcomes = remembered(key);
    const known = outcomes.get(id);
    if (known !== undefined) return known;
    const outcome = verify(null, payload, key, Buffer.from(signature.signature, "base64"));
    if (outcomes.size >= VERIFIED_PER_KEY) outcomes.delete(outcomes.keys().next().value ?? "");
    outcomes.set(id, outcome);
    return outcome;
  } catch {
    // A malformed signature is simply one that does not verify.
    return false;
  }
}
