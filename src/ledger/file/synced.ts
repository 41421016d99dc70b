// The index and the tree levels are derived from the segments and written after the segments'
// fsync, without one of their own: a power loss can leave their latest blocks unwritten (read
// back as zeros). They are fsync'd at checkpoints, on close and every SYNC_EVERY entries, and
// `synced.json` then records how many entries they covered. An open re-derives and compares
// only what came after that; everything is checked for zeroed blocks.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeDurably } from "./durable-file.ts";

export const SYNC_EVERY = 8_192;
const SYNCED_FILE = "synced.json";

/** Entries whose derived data was durable at the last sync, at most `size`; 0 when unknown. */
export function readSyncedSize(dir: string, size: number): number {
  const path = join(dir, SYNCED_FILE);
  if (!existsSync(path)) return 0;
  try {
    const value: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (typeof value === "object" && value !== null && "size" in value && Number.isSafeInteger(value.size))
      return Math.max(0, Math.min(size, Number(value.size)));
  } catch {
    // Unreadable: re-derive everything, as if it were absent.
  }
  return 0;
}

export function writeSyncedSize(dir: string, size: number): void {
  writeDurably(join(dir, SYNCED_FILE), `${JSON.stringify({ size })}\n`, "replace");
}
