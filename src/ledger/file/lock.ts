import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { LedgerLockedError } from "./errors.ts";

interface LockHolder {
  pid: number;
  host: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return e instanceof Error && "code" in e && e.code === "EPERM";
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (typeof parsed === "object" && parsed !== null && "pid" in parsed && "host" in parsed) {
      const { pid, host } = parsed;
      if (typeof pid === "number" && typeof host === "string") return { pid, host };
    }
  } catch {
    // Unreadable or half-written: treated as no holder below, and reported if creation fails again.
  }
  return undefined;
}

/**
 * Single-writer lock: `LOCK` created with O_EXCL holds the writer's pid and host. A lock
 * left by a dead process on this host is taken over (with `onStale` told); any other holder
 * is an error that names it.
 */
export function acquireWriteLock(dir: string, onStale: (holder: string) => void): () => void {
  const path = join(dir, "LOCK");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      return () => unlinkSync(path);
    } catch (e: unknown) {
      if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
    }
    const holder = readHolder(path);
    if (holder !== undefined && (holder.host !== hostname() || isAlive(holder.pid))) {
      throw new LedgerLockedError(dir, holder.pid, holder.host);
    }
    onStale(holder === undefined ? "an unreadable lock file" : `pid ${holder.pid}, no longer running`);
    unlinkSync(path);
  }
  throw new LedgerLockedError(dir, -1, "unknown (lock file keeps reappearing)");
}
