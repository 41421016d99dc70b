// Checkpoints of both backends, signed and verified in one place: a file ledger's ed25519
// signature over the tree head, or an ic canister's certified tip (the subnet's certificate).
// Whoever checks one says what they trust (`CheckpointTrust`): a key id pinned out of band or
// by the ledger's identity file, the public key itself, the IC root key.
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { IC_ROOT_KEY } from "@dfinity/agent";
import { canonicalBytes } from "./entry.ts";
import { sha256, toHex } from "./hash.ts";
import { LedgerError } from "./errors.ts";
import type { Checkpoint } from "./ledger.ts";
import { verifyCertifiedTip } from "./ic/certificate.ts";

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

/** A checkpoint that verifies, but by another key than the one the ledger is known by. */
export class CheckpointKeyMismatchError extends CheckpointSignatureError {
  readonly expected: string;
  readonly actual: string;
  constructor(size: number, actual: string, expected: string) {
    super(`the checkpoint at size ${size} is signed by key ${actual}, not by the ledger's key ${expected}`);
    this.name = "CheckpointKeyMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * What a verifier trusts. With nothing pinned a file checkpoint is checked with the key it
 * embeds, which proves integrity, not origin; an ic checkpoint always chains to a root key.
 */
export interface CheckpointTrust {
  /** The key id the checkpoint must carry: a file ledger's hex key id, or `ic:<canister id>`. */
  keyId?: string;
  /** The ed25519 key a file checkpoint must be signed by. */
  publicKey?: KeyObject;
  /** DER BLS root key ic certificates must chain to (default: the IC mainnet key). */
  icRootKey?: Uint8Array;
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

/** Checks a file ledger's checkpoint: its signature, by the pinned key when one is given. */
export function verifyCheckpoint(c: Checkpoint, trust: CheckpointTrust = {}): void {
  if (c.origin !== undefined && c.origin !== "file")
    throw new CheckpointSignatureError(`checkpoint at size ${c.size} has origin ${c.origin}, not file`);
  if (trust.keyId !== undefined && c.keyId !== trust.keyId)
    throw new CheckpointKeyMismatchError(c.size, c.keyId, trust.keyId);
  const key = trust.publicKey ?? embeddedKey(c);
  const keyId = keyIdOf(key);
  if (keyId !== c.keyId) {
    if (trust.publicKey !== undefined) throw new CheckpointKeyMismatchError(c.size, c.keyId, keyId);
    throw new CheckpointSignatureError(
      `embedded public key has key id ${keyId}, the checkpoint names ${c.keyId}`,
    );
  }
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

/**
 * Checks an ic checkpoint on its own: its certificate verifies against `icRootKey` — the IC
 * mainnet key unless another is pinned (a local replica's, or PocketIC's); the key a
 * checkpoint names is never trusted — and certifies exactly its size and root for the
 * canister its keyId names, at its timestamp.
 */
export async function verifyIcCheckpoint(
  c: Checkpoint,
  icRootKey: Uint8Array = new Uint8Array(Buffer.from(IC_ROOT_KEY, "hex")),
): Promise<void> {
  if (c.origin !== "ic" || !c.keyId.startsWith("ic:"))
    throw new CheckpointSignatureError(`checkpoint at size ${c.size} is not an ic checkpoint`);
  const { time } = await verifyCertifiedTip({
    certificate: new Uint8Array(Buffer.from(c.signature, "base64")),
    rootKey: icRootKey,
    canisterId: c.keyId.slice(3),
    size: c.size,
    root: c.root,
    maxAgeMs: Number.POSITIVE_INFINITY,
  });
  if (time.toISOString() !== c.timestamp)
    throw new CheckpointSignatureError(
      `ic checkpoint at size ${c.size}: timestamp ${c.timestamp} is not the certificate's ${time.toISOString()}`,
    );
}

/** Verifies a checkpoint of either origin against what the caller trusts. */
export async function verifyAnyCheckpoint(c: Checkpoint, trust: CheckpointTrust = {}): Promise<void> {
  if (c.origin !== "ic") return verifyCheckpoint(c, trust);
  if (trust.keyId !== undefined && c.keyId !== trust.keyId)
    throw new CheckpointKeyMismatchError(c.size, c.keyId, trust.keyId);
  await verifyIcCheckpoint(c, trust.icRootKey);
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
  if (typeof c["note"] === "string") checkpoint.note = c["note"];
  return checkpoint;
}
