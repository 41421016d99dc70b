// The file ledger's identity: the ed25519 key that speaks for it, fixed when the ledger is
// created and written to `ledger.json` (key id, public key, creation time). Every checkpoint must
// be signed by that key and every entry recorded by it (`recordedBy` "file:<key id>"). A writer
// refuses another key, and never makes a new one for a ledger that has an identity or history:
// a new key would be a different ledger wearing this one's history.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyIdOf, type CheckpointTrust } from "../checkpoint.ts";
import type { LeafEnvelope } from "../envelope.ts";
import { LedgerError } from "../errors.ts";
import { writeDurably } from "./durable-file.ts";
import { hasLatestCheckpoint } from "./keys.ts";
import { syncDirectory } from "./segments.ts";

export interface LedgerIdentity {
  origin: "file";
  /** Hex of the first 16 bytes of SHA-256 over the raw ed25519 public key (`keyIdOf`). */
  keyId: string;
  /** SPKI PEM of the checkpoint key. */
  publicKey: string;
  /** RFC 3339: when the ledger was created (for a ledger older than identity files: its first entry). */
  createdAt: string;
}

export interface SigningKey {
  privateKey: KeyObject;
  keyId: string;
}

/** What the identity checks read of the entries: how many, and entry `i`'s envelope. */
export interface RecordedHistory {
  size: number;
  envelope(index: number): LeafEnvelope;
}

export const IDENTITY_FILE = "ledger.json";
export const KEY_FILE = "checkpoint-key.pem";
const FORMAT = "modelchain.ledger/v1";

/**
 * ledger.json is unreadable, or a key, an entry or a checkpoint disagrees with it. Neither
 * retryable nor permanent: a person must restore the right file or key.
 */
export class LedgerIdentityError extends LedgerError {
  constructor(dir: string, message: string) {
    super(`ledger ${dir}: ${message}`);
    this.name = "LedgerIdentityError";
  }
}

/** The checkpoint key of a ledger that has an identity or history is gone (a person restores it). */
export class SigningKeyMissingError extends LedgerError {
  readonly keyId: string | undefined;
  constructor(dir: string, keyPath: string, keyId: string | undefined, size: number) {
    const whose = keyId === undefined ? "its key" : `the key with id ${keyId}`;
    super(
      `ledger ${dir} (${size} entries) has no checkpoint key at ${keyPath}: restore that file from a backup of this ledger (${whose}). No new key is made: it would sign for a different ledger. Without the key the ledger can still be read and verified, but not appended to; a new ledger needs a new directory`,
    );
    this.name = "SigningKeyMissingError";
    this.keyId = keyId;
  }
}

export function identityPublicKey(identity: LedgerIdentity): KeyObject {
  return createPublicKey(identity.publicKey);
}

/** The ledger's identity, or undefined when `ledger.json` is absent; a malformed one is an error naming the field. */
export function readIdentity(dir: string): LedgerIdentity | undefined {
  const path = join(dir, IDENTITY_FILE);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (e: unknown) {
    throw new LedgerIdentityError(
      dir,
      `${IDENTITY_FILE} is not JSON: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return parseIdentity(dir, value);
}

function parseIdentity(dir: string, value: unknown): LedgerIdentity {
  const bad = (problem: string): LedgerIdentityError =>
    new LedgerIdentityError(dir, `${IDENTITY_FILE}: ${problem}`);
  if (typeof value !== "object" || value === null) throw bad("not a JSON object");
  const { type, origin, keyId, publicKey, createdAt } = value as Record<string, unknown>;
  if (type !== FORMAT) throw bad(`type must be ${JSON.stringify(FORMAT)}`);
  if (origin !== "file") throw bad(`origin must be "file"`);
  if (typeof keyId !== "string" || !/^[0-9a-f]{32}$/.test(keyId))
    throw bad("keyId must be 32 lowercase hex digits");
  if (typeof publicKey !== "string") throw bad("publicKey must be a PEM string");
  if (typeof createdAt !== "string" || Number.isNaN(Date.parse(createdAt)))
    throw bad("createdAt must be an RFC 3339 time");
  let actual: string;
  try {
    actual = keyIdOf(createPublicKey(publicKey));
  } catch (e: unknown) {
    throw bad(`publicKey is not an ed25519 public key: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (actual !== keyId) throw bad(`publicKey has key id ${actual}, not the keyId ${keyId}`);
  return { origin, keyId, publicKey, createdAt };
}

function writeIdentity(dir: string, identity: LedgerIdentity): void {
  const content = `${JSON.stringify({ type: FORMAT, ...identity }, null, 2)}\n`;
  writeDurably(join(dir, IDENTITY_FILE), content, "create");
}

/** Every entry of the ledger is recorded by its key: the first and the last are checked here (the audit checks all). */
export function checkRecorders(dir: string, keyId: string, history: RecordedHistory): void {
  const want = `file:${keyId}`;
  if (history.size === 0) return;
  for (const index of new Set([0, history.size - 1])) {
    const got = history.envelope(index).recordedBy;
    if (got !== want)
      throw new LedgerIdentityError(
        dir,
        `entry ${index} was recorded by ${got}, not by the ledger's key ${want}: the key, ${IDENTITY_FILE} or the entries were replaced`,
      );
  }
}

function loadKey(path: string): SigningKey {
  const privateKey = createPrivateKey(readFileSync(path));
  return { privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
}

function generateKey(dir: string, path: string): SigningKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  writeFileSync(path, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  syncDirectory(dir);
  return { privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
}

function identityOf(key: SigningKey, createdAt: Date): LedgerIdentity {
  const publicKey = createPublicKey(key.privateKey).export({ type: "spki", format: "pem" }).toString();
  return { origin: "file", keyId: key.keyId, publicKey, createdAt: createdAt.toISOString() };
}

/** The key id the entries name, for a ledger with no identity file. */
function recordedKeyId(history: RecordedHistory): string | undefined {
  if (history.size === 0) return undefined;
  const by = history.envelope(0).recordedBy;
  return by.startsWith("file:") ? by.slice("file:".length) : undefined;
}

export interface WriterIdentityOptions {
  dir: string;
  /** Where the private key is; default `<dir>/checkpoint-key.pem`. */
  keyPath?: string;
  history: RecordedHistory;
  /** Whether checkpoint.json exists: a ledger that signed a head is not new even when empty. */
  signedBefore: boolean;
  now: Date;
  warn: (message: string) => void;
}

/**
 * The identity and key a writer signs with. A new ledger gets its identity now (with a new key
 * unless one is in place); one with an identity must have that key; one with history but no
 * identity file (made before them) is given one if its key recorded its first and last entries.
 */
export function openWriterIdentity(o: WriterIdentityOptions): { identity: LedgerIdentity; key: SigningKey } {
  const keyPath = o.keyPath ?? join(o.dir, KEY_FILE);
  const identity = readIdentity(o.dir);
  const isNew = identity === undefined && o.history.size === 0 && !o.signedBefore;
  if (!existsSync(keyPath)) {
    if (!isNew)
      throw new SigningKeyMissingError(
        o.dir,
        keyPath,
        identity?.keyId ?? recordedKeyId(o.history),
        o.history.size,
      );
    if (o.keyPath !== undefined)
      throw new LedgerIdentityError(o.dir, `checkpoint key ${keyPath} does not exist`);
    const key = generateKey(o.dir, keyPath);
    const created = identityOf(key, o.now);
    writeIdentity(o.dir, created);
    return { identity: created, key };
  }
  const key = loadKey(keyPath);
  if (identity !== undefined) {
    if (key.keyId !== identity.keyId)
      throw new LedgerIdentityError(
        o.dir,
        `checkpoint key ${keyPath} has key id ${key.keyId}, but the ledger was created with key id ${identity.keyId} (${IDENTITY_FILE})`,
      );
    checkRecorders(o.dir, identity.keyId, o.history);
    return { identity, key };
  }
  checkRecorders(o.dir, key.keyId, o.history);
  const created =
    o.history.size === 0 ? o.now : new Date(Number(BigInt(o.history.envelope(0).recordedAt) / 1_000_000n));
  const adopted = identityOf(key, created);
  writeIdentity(o.dir, adopted);
  if (!isNew) o.warn(`pinned the ledger's identity: key id ${key.keyId}, written to ${IDENTITY_FILE}`);
  return { identity: adopted, key };
}

/** A reader takes the identity as it finds it (absent on a ledger made before identity files); a writer pins it. */
export function establishIdentity(o: Omit<WriterIdentityOptions, "signedBefore"> & { readOnly: boolean }): {
  identity: LedgerIdentity | undefined;
  key: SigningKey | undefined;
} {
  if (!o.readOnly) return openWriterIdentity({ ...o, signedBefore: hasLatestCheckpoint(o.dir) });
  const identity = readIdentity(o.dir);
  if (identity !== undefined) checkRecorders(o.dir, identity.keyId, o.history);
  return { identity, key: undefined };
}

/** What a checkpoint of this ledger must be signed by. */
export function trustOf(identity: LedgerIdentity | undefined): CheckpointTrust {
  return identity === undefined ? {} : { keyId: identity.keyId, publicKey: identityPublicKey(identity) };
}
