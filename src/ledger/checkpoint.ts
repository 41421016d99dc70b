import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { canonicalBytes } from "./entry.ts";
import { sha256, toHex } from "./hash.ts";
import { LedgerError } from "./errors.ts";
import type { Checkpoint } from "./ledger.ts";

/** The statement a checkpoint signs: domain-separated canonical JSON of the tree head. */
export function checkpointMessage(c: Pick<Checkpoint, "size" | "root" | "timestamp" | "keyId">): Uint8Array {
  return canonicalBytes({
    type: "modelchain.checkpoint/v1",
    size: c.size,
    root: c.root,
    timestamp: c.timestamp,
    keyId: c.keyId,
  });
}

/** Key id of an ed25519 public key: hex of the first 16 bytes of SHA-256 over its raw 32 bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string")
    throw new CheckpointSignatureError("key is not an ed25519 public key");
  return toHex(sha256(Buffer.from(jwk.x, "base64url")).subarray(0, 16));
}

export class CheckpointSignatureError extends LedgerError {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = "CheckpointSignatureError";
  }
}

export function signCheckpoint(
  head: { size: number; root: string },
  privateKey: KeyObject,
  now: Date,
): Checkpoint {
  const publicKey = createPublicKey(privateKey);
  const unsigned = {
    size: head.size,
    root: head.root,
    timestamp: now.toISOString(),
    keyId: keyIdOf(publicKey),
  };
  const signature = sign(null, checkpointMessage(unsigned), privateKey).toString("base64");
  const publicKeyPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  return { ...unsigned, signature, origin: "file", publicKey: publicKeyPem };
}

/**
 * Checks a checkpoint's signature. With `trusted` the key must be that one; without it the
 * embedded key is used and only its key id is checked, which proves integrity, not origin.
 */
export function verifyCheckpoint(c: Checkpoint, trusted?: KeyObject): void {
  const key = trusted ?? embeddedKey(c);
  const keyId = keyIdOf(key);
  if (keyId !== c.keyId) throw new CheckpointSignatureError(`signed by key ${c.keyId}, want ${keyId}`);
  const ok = verify(null, checkpointMessage(c), key, Buffer.from(c.signature, "base64"));
  if (!ok) throw new CheckpointSignatureError(`signature over size ${c.size} root ${c.root} does not verify`);
}

function embeddedKey(c: Checkpoint): KeyObject {
  if (c.publicKey === undefined) throw new CheckpointSignatureError("no public key given or embedded");
  try {
    return createPublicKey(c.publicKey);
  } catch (e: unknown) {
    throw new CheckpointSignatureError(
      `embedded public key is unreadable: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Parses checkpoint JSON from a file or flag, naming the bad field. */
export function parseCheckpoint(value: unknown): Checkpoint {
  if (typeof value !== "object" || value === null) throw new CheckpointSignatureError("not a JSON object");
  const c = value as Record<string, unknown>;
  const need = (field: string, type: "string" | "number"): void => {
    if (typeof c[field] !== type) throw new CheckpointSignatureError(`field ${field} must be a ${type}`);
  };
  need("size", "number");
  need("root", "string");
  need("timestamp", "string");
  need("keyId", "string");
  need("signature", "string");
  const checkpoint: Checkpoint = {
    size: c["size"] as number,
    root: c["root"] as string,
    timestamp: c["timestamp"] as string,
    keyId: c["keyId"] as string,
    signature: c["signature"] as string,
  };
  if (typeof c["origin"] === "string") checkpoint.origin = c["origin"];
  if (typeof c["publicKey"] === "string") checkpoint.publicKey = c["publicKey"];
  return checkpoint;
}
