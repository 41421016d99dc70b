// The checkpoints a file ledger has published, kept in its directory: `checkpoint.note`, the
// latest (C2SP checkpoint, replaced atomically), and `checkpoints/<size>.note`, one per
// published size and never replaced, so whoever kept any one of them can ask for a consistency
// proof from it to the latest.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeDurably } from "./durable-file.ts";

export const LATEST_NOTE = "checkpoint.note";
export const NOTE_HISTORY = "checkpoints";

const historyName = (size: number): string => `${String(size).padStart(20, "0")}.note`;

/** History first, then the latest: the latest is always among the history. */
export function publishCheckpointNote(dir: string, size: number, note: string, check: () => void): void {
  const history = join(dir, NOTE_HISTORY);
  mkdirSync(history, { recursive: true });
  const path = join(history, historyName(size));
  check();
  // A head re-signed at a size already published (a timer with no new entries) signs the same
  // tree: the first one stays.
  if (!existsSync(path)) writeDurably(path, note, "create");
  check();
  writeDurably(join(dir, LATEST_NOTE), note, "replace");
}

export function readPublishedNote(dir: string): string | undefined {
  const path = join(dir, LATEST_NOTE);
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/** Every published size, ascending. */
export function publishedSizes(dir: string): number[] {
  const history = join(dir, NOTE_HISTORY);
  if (!existsSync(history)) return [];
  return readdirSync(history)
    .filter((name) => /^\d{20}\.note$/.test(name))
    .map((name) => Number(name.slice(0, 20)))
    .sort((a, b) => a - b);
}

export function readPublishedNoteAt(dir: string, size: number): string | undefined {
  const path = join(dir, NOTE_HISTORY, historyName(size));
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}
