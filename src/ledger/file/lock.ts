import { closeSync, openSync, readFileSync, statSync, unlinkSync, utimesSync, writeSync } from "node:fs";
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

/** How often a holder touches its lock, and how long untouched makes a lock stale. */
export const LOCK_HEARTBEAT_MS = 5_000;
export const LOCK_STALE_MS = 30_000;

/** Lock files this process holds. */
const held = new Set<string>();

/** Why the lock at `path` is stale, or undefined while its holder may still be writing. */
function staleness(path: string, holder: LockHolder | undefined): string | undefined {
  if (holder === undefined) return "an unreadable lock file";
  let age: number;
  try {
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return undefined; // gone meanwhile: the next attempt creates it
  }
  if (age > LOCK_STALE_MS)
    return `pid ${holder.pid} on ${holder.host}, not renewed for ${Math.round(age / 1000)} s`;
  if (holder.host !== hostname()) return undefined;
  // A restarted container is often the same pid on the same host name (pid 1): a lock with our
  // own pid that this process did not take was left by an earlier life.
  if (holder.pid === process.pid && !held.has(path))
    return `pid ${holder.pid}, an earlier process with this pid`;
  if (!isAlive(holder.pid)) return `pid ${holder.pid}, no longer running`;
  return undefined;
}

/**
 * Single-writer lock: `LOCK` created with O_EXCL holds the writer's pid and host, and the
 * holder touches it every few seconds. A lock whose holder is gone — a dead pid on this host,
 * an earlier process with our pid, or no renewal for 30 s (another pod that died) — is taken
 * over, with `onStale` told; any other holder is an error that names it.
 */
export function acquireWriteLock(dir: string, onStale: (holder: string) => void): () => void {
  const path = join(dir, "LOCK");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      held.add(path);
      const heartbeat = setInterval(() => {
        try {
          const now = new Date();
          utimesSync(path, now, now);
        } catch {
          // Removed under us: the next writer's problem is reported when it takes the lock.
        }
      }, LOCK_HEARTBEAT_MS);
      heartbeat.unref();
      return () => {
        clearInterval(heartbeat);
        held.delete(path);
        unlinkSync(path);
      };
    } catch (e: unknown) {
      if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
    }
    const holder = readHolder(path);
    const stale = staleness(path, holder);
    if (stale === undefined) throw new LedgerLockedError(dir, holder?.pid ?? -1, holder?.host ?? "unknown");
    onStale(stale);
    unlinkSync(path);
  }
  throw new LedgerLockedError(dir, -1, "unknown (lock file keeps reappearing)");
}
