import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { syncDirectory } from "./segments.ts";

/**
 * Writes a small file so that a crash leaves either the old content or the new, never a torn
 * one: a temp file, fsync'd, then renamed over (`replace`) or hard-linked into place, which
 * fails with EEXIST rather than overwrite (`create`); then the directory is fsync'd.
 */
export function writeDurably(path: string, content: string, mode: "replace" | "create"): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (mode === "replace") renameSync(tmp, path);
    else linkSync(tmp, path);
  } finally {
    if (mode === "create") unlinkSync(tmp);
  }
  syncDirectory(dirname(path));
}
