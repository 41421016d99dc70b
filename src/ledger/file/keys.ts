import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyIdOf, parseCheckpoint, verifyCheckpoint } from "../checkpoint.ts";
import type { Checkpoint } from "../ledger.ts";
import { CheckpointMismatchError } from "./errors.ts";
import { syncDirectory } from "./segments.ts";

export interface SigningKey {
  privateKey: KeyObject;
  keyId: string;
}

const KEY_FILE = "checkpoint-key.pem";
const LATEST_CHECKPOINT = "checkpoint.json";

/** The ed25519 key that signs checkpoints; generated (mode 0600) on first writable open. */
export function loadSigningKey(
  dir: string,
  path: string | undefined,
  readOnly: boolean,
): SigningKey | undefined {
  if (readOnly) return undefined;
  const keyPath = path ?? join(dir, KEY_FILE);
  if (!existsSync(keyPath)) {
    if (path !== undefined) throw new Error(`checkpoint key ${path} does not exist`);
    const { privateKey } = generateKeyPairSync("ed25519");
    writeFileSync(keyPath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
    syncDirectory(dir);
  }
  const privateKey = createPrivateKey(readFileSync(keyPath));
  return { privateKey, keyId: keyIdOf(createPublicKey(privateKey)) };
}

export function readLatestCheckpoint(dir: string): Checkpoint | undefined {
  const path = join(dir, LATEST_CHECKPOINT);
  if (!existsSync(path)) return undefined;
  return parseCheckpoint(JSON.parse(readFileSync(path, "utf8")));
}

/**
 * Atomic replace: write a temp file, fsync it, rename over, fsync the directory. The temp name
 * is this process's, so a writer that lost the lock cannot mix its bytes into the new writer's.
 */
export function writeLatestCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const tmp = join(dir, `${LATEST_CHECKPOINT}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(checkpoint, null, 2)}\n`);
  const fd = openSync(tmp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, LATEST_CHECKPOINT));
  syncDirectory(dir);
}

/** A ledger must extend every checkpoint it signed: same root at that size, never shorter. */
export function checkSignedHead(
  checkpoint: Checkpoint,
  size: number,
  rootAt: (size: number) => string,
): void {
  verifyCheckpoint(checkpoint);
  if (checkpoint.size > size) {
    throw new CheckpointMismatchError(
      `it has ${size} entries but a checkpoint at size ${checkpoint.size} was signed`,
    );
  }
  const root = rootAt(checkpoint.size);
  if (root !== checkpoint.root) {
    throw new CheckpointMismatchError(
      `root at size ${checkpoint.size} is ${root}, the checkpoint signed ${checkpoint.root}`,
    );
  }
}
