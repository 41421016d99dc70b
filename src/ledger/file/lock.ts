// The single-writer lock of the file ledger and the outbox, in the ways Kubernetes ends writers:
// a container restarted as the same pid on the same host name, a pod gone from another node, a
// process frozen (SIGSTOP, a stalled VM) past the stale window that wakes up still believing it
// writes. The on-disk protocol is in lock-files.ts; this module decides when a holder is gone,
// renews the lock, and fences: a holder checks before every write that it still holds it.
import { randomBytes } from "node:crypto";
import { rmSync, utimesSync } from "node:fs";
import { hostname } from "node:os";
import { LedgerLockedError, LedgerLockLost, LedgerOpenFailed } from "./errors.ts";
import type { Fence } from "./fence.ts";
import {
  claimGeneration,
  generationPath,
  highestGeneration,
  isSameFile,
  lockDirOf,
  readTop,
  removeSuperseded,
  type FileIdentity,
  type LockRecord,
  type LockTop,
} from "./lock-files.ts";

/** How long an unrenewed lock stays its holder's, unless configured. */
export const DEFAULT_LOCK_STALE_MS = 30_000;
export const LOCK_STALE_ENV = "MODELCHAIN_LEDGER_LOCK_STALE_MS";

export interface WriteLockOptions {
  /** Told why a previous holder's lock was taken over. */
  onStale: (holder: string) => void;
  /** Default: $MODELCHAIN_LEDGER_LOCK_STALE_MS, else 30 s. The holder renews it every sixth of that. */
  staleMs?: number;
}

/** A held write lock. `check` is the fence: it throws LedgerLockLost once another writer took over. */
export interface WriteLock extends Fence {
  readonly generation: number;
  release(): void;
}

/** Lock directories this process holds: a lock with our own pid that is not here is an earlier life's. */
const heldHere = new Set<string>();

export function lockStaleMs(given: number | undefined): number {
  if (given !== undefined) return given;
  const env = process.env[LOCK_STALE_ENV];
  if (env === undefined || env === "") return DEFAULT_LOCK_STALE_MS;
  if (!/^[1-9]\d*$/.test(env)) throw new LedgerOpenFailed(`${LOCK_STALE_ENV}=${env}: want milliseconds`);
  return Number(env);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: unknown) {
    return e instanceof Error && "code" in e && e.code === "EPERM";
  }
}

const describe = (r: LockRecord): string => `pid ${r.pid} on ${r.host}`;

/** Why the holder of `top` is gone, or undefined while it may still be writing. */
function staleness(lockDir: string, top: LockTop, staleMs: number): string | undefined {
  const age = Date.now() - top.mtimeMs;
  const holder = top.record;
  const who = holder === undefined ? `an unreadable lock file ${top.path}` : describe(holder);
  if (age > staleMs) return `${who}, not renewed for ${(age / 1000).toFixed(1)} s`;
  if (holder === undefined || holder.host !== hostname()) return undefined;
  // A restarted container is often the same pid on the same host name (pid 1).
  if (holder.pid === process.pid && !heldHere.has(lockDir))
    return `pid ${holder.pid}, an earlier process with this pid`;
  if (!isAlive(holder.pid)) return `pid ${holder.pid}, no longer running`;
  return undefined;
}

class HeldLock implements WriteLock {
  readonly generation: number;
  private readonly dir: string;
  private readonly lockDir: string;
  private readonly path: string;
  private readonly identity: FileIdentity;
  private readonly heartbeat: NodeJS.Timeout;
  private lost: LedgerLockLost | undefined;

  constructor(dir: string, generation: number, identity: FileIdentity, staleMs: number) {
    this.dir = dir;
    this.lockDir = lockDirOf(dir);
    this.generation = generation;
    this.path = generationPath(this.lockDir, generation);
    this.identity = identity;
    heldHere.add(this.lockDir);
    this.heartbeat = setInterval(() => this.renew(), Math.max(10, Math.floor(staleMs / 6)));
    this.heartbeat.unref();
  }

  private renew(): void {
    try {
      const now = new Date();
      utimesSync(this.path, now, now);
    } catch {
      // Removed by a successor: the next check reports the loss to whoever writes.
    }
  }

  /**
   * One stat: every writer that takes over removes the files below its generation before it
   * writes anything, so this holder's own file is there exactly as long as it holds the lock.
   */
  check(): void {
    if (this.lost !== undefined) throw this.lost;
    if (isSameFile(this.path, this.identity)) return;
    this.lost = new LedgerLockLost(this.dir, this.generation, holderNow(this.lockDir));
    this.stop();
    throw this.lost;
  }

  /** Lets go by claiming the next generation as released; a lock already lost is left alone. */
  release(): void {
    this.stop();
    if (this.lost !== undefined || highestGeneration(this.lockDir) !== this.generation) return;
    const released = claimGeneration(this.lockDir, { ...record(this.generation + 1), released: true });
    // The next writer may already have taken the released generation and removed this file.
    if (released !== undefined) rmSync(this.path, { force: true });
  }

  private stop(): void {
    clearInterval(this.heartbeat);
    heldHere.delete(this.lockDir);
  }
}

function holderNow(lockDir: string): string {
  const top = readTop(lockDir);
  if (top === undefined) return "nobody's: the lock files are gone";
  if (top.record === undefined) return `in an unreadable lock file ${top.path}`;
  const r = top.record;
  return r.released
    ? `released (generation ${r.generation})`
    : `held by ${describe(r)} (generation ${r.generation}, since ${r.since})`;
}

function record(generation: number): LockRecord {
  return {
    generation,
    pid: process.pid,
    host: hostname(),
    token: randomBytes(16).toString("hex"),
    since: new Date().toISOString(),
    released: false,
  };
}

/**
 * Takes the single-writer lock of `dir`: the next generation after a free, released or stale
 * one. A lock whose holder is gone — a dead pid on this host, an earlier process with our pid,
 * or no renewal within the stale window — is taken over, with `onStale` told; a live holder is
 * an error that names it. Contenders racing for the same generation: one wins, the others see
 * the winner as a live holder.
 */
export function acquireWriteLock(dir: string, options: WriteLockOptions): WriteLock {
  const lockDir = lockDirOf(dir);
  const staleMs = lockStaleMs(options.staleMs);
  for (let attempt = 0; attempt < 5; attempt++) {
    const top = readTop(lockDir);
    const stale =
      top === undefined || top.record?.released === true ? undefined : staleness(lockDir, top, staleMs);
    if (top !== undefined && top.record?.released !== true && stale === undefined)
      throw new LedgerLockedError(dir, top.record?.pid ?? -1, top.record?.host ?? "unknown", top.path);
    const generation = (top?.generation ?? 0) + 1;
    const identity = claimGeneration(lockDir, record(generation));
    if (identity === undefined) continue;
    const path = generationPath(lockDir, generation);
    // A contender that judged an older generation stale long ago can only add a lower one.
    if (highestGeneration(lockDir) !== generation) {
      rmSync(path, { force: true });
      continue;
    }
    if (stale !== undefined) options.onStale(stale);
    removeSuperseded(lockDir, generation, staleMs);
    return new HeldLock(dir, generation, identity, staleMs);
  }
  throw new LedgerLockedError(dir, -1, "unknown (the lock changed hands while opening)", lockDir);
}
