import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCheckpoint, verifyCheckpoint, type CheckpointTrust } from "../checkpoint.ts";
import type { Checkpoint } from "../ledger.ts";
import { writeDurably } from "./durable-file.ts";
import { CheckpointMismatchError } from "./errors.ts";

const LATEST_CHECKPOINT = "checkpoint.json";

export function hasLatestCheckpoint(dir: string): boolean {
  return existsSync(join(dir, LATEST_CHECKPOINT));
}

export function readLatestCheckpoint(dir: string): Checkpoint | undefined {
  const path = join(dir, LATEST_CHECKPOINT);
  if (!existsSync(path)) return undefined;
  return parseCheckpoint(JSON.parse(readFileSync(path, "utf8")));
}

/**
 * Atomic replace through writeDurably, whose temp name is this process's: a writer that lost the
 * lock cannot mix its bytes into the new writer's.
 */
export function writeLatestCheckpoint(dir: string, checkpoint: Checkpoint): void {
  writeDurably(join(dir, LATEST_CHECKPOINT), `${JSON.stringify(checkpoint, null, 2)}\n`, "replace");
}

/**
 * A ledger must extend every checkpoint it signed: signed by its key (when `trust` pins it),
 * the same root at that size, never shorter.
 */
export function checkSignedHead(
  checkpoint: Checkpoint,
  size: number,
  rootAt: (size: number) => string,
  trust: CheckpointTrust = {},
): void {
  verifyCheckpoint(checkpoint, trust);
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
