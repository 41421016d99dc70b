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

export function signatureVerifies(spec: ModelVersionSpec, signature: Signature, key: KeyObject): boolean {
  try {
    if (signature.signature === undefined) return false;
    return verify(null, signedPayload(spec), key, Buffer.from(signature.signature, "base64"));
  } catch {
    // A malformed signature is simply one that does not verify.
    return false;
  }
}
