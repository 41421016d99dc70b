// The single-writer lock of the file ledger and the outbox, in the ways Kubernetes ends writers:
// a container restarted as the same pid on the same host name, a pod gone from another node.
// (Processes racing for it and frozen holders are in lock-process.test.ts.)
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { LedgerLockedError, LedgerLockLost, LedgerOpenFailed } from "../../src/ledger/file/errors.ts";
import { acquireWriteLock, LOCK_STALE_ENV, type WriteLockOptions } from "../../src/ledger/file/lock.ts";
import { tempDir } from "./fixtures.ts";

const STALE_MS = 2_000;

/** Writes generation `generation`'s lock file as another writer would have left it, `ageMs` ago. */
const holderAt = (dir: string, generation: number, holder: object | string, ageMs = 0): string => {
  mkdirSync(join(dir, "lock"), { recursive: true });
  const path = join(dir, "lock", generation.toString(16).padStart(16, "0"));
  writeFileSync(path, typeof holder === "string" ? holder : JSON.stringify({ generation, ...holder }));
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
  return path;
};

const lockFiles = (dir: string): string[] => readdirSync(join(dir, "lock")).sort();
const record = (dir: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(dir, "lock", name), "utf8")) as Record<string, unknown>;

describe("the write lock", () => {
  const made: Array<() => void> = [];
  const dir = (): string => {
    const t = tempDir("modelchain-lock-");
    made.push(t.remove);
    return t.dir;
  };
  const told: string[] = [];
  const options: WriteLockOptions = { onStale: (why) => told.push(why), staleMs: STALE_MS };
  afterEach(() => {
    told.length = 0;
    delete process.env[LOCK_STALE_ENV];
    for (const remove of made.splice(0)) remove();
  });

  it("starts at generation 1 in a fresh directory, with this process's pid and host", () => {
    const d = dir();
    const lock = acquireWriteLock(d, options);
    expect(lock.generation).toBe(1);
    expect(record(d, "0000000000000001")).toMatchObject({
      pid: process.pid,
      host: hostname(),
      released: false,
    });
    lock.release();
  });

  it("refuses while another host's writer keeps renewing it, naming that host and the lock file", () => {
    const d = dir();
    const path = holderAt(d, 4, { pid: 7, host: "operator-7d9f-abcde" }, 500);
    expect(() => acquireWriteLock(d, options)).toThrow(LedgerLockedError);
    expect(() => acquireWriteLock(d, options)).toThrow(
      `locked for writing by pid 7 on operator-7d9f-abcde (lock file ${path})`,
    );
    expect(told).toEqual([]);
  });

  it("takes over a lock another host stopped renewing (a pod that died) at the next generation, saying so", () => {
    const d = dir();
    holderAt(d, 4, { pid: 7, host: "operator-7d9f-abcde" }, STALE_MS + 30_000);
    const lock = acquireWriteLock(d, options);
    expect(lock.generation).toBe(5);
    expect(told).toEqual([
      expect.stringMatching(/^pid 7 on operator-7d9f-abcde, not renewed for 3\d\.\d s$/),
    ]);
    expect(lockFiles(d)).toEqual(["0000000000000005"]);
    lock.release();
  });

  it("takes over a lock with this process's own pid that this process never took (a restarted container)", () => {
    const d = dir();
    holderAt(d, 1, { pid: process.pid, host: hostname() });
    const lock = acquireWriteLock(d, options);
    expect(told).toEqual([`pid ${process.pid}, an earlier process with this pid`]);
    // Held now: a second taker in this process is refused.
    expect(() => acquireWriteLock(d, options)).toThrow(/locked for writing/);
    lock.release();
  });

  it("treats an unreadable lock file as held until it goes unrenewed", () => {
    const d = dir();
    holderAt(d, 2, "{ not json");
    expect(() => acquireWriteLock(d, options)).toThrow(/locked for writing by pid -1 on unknown/);
    holderAt(d, 2, "{ not json", STALE_MS * 2);
    const lock = acquireWriteLock(d, options);
    expect(lock.generation).toBe(3);
    expect(told).toEqual([expect.stringMatching(/^an unreadable lock file .*0000000000000002, not renewed/)]);
    lock.release();
  });

  it("is renewed by its holder while held", async () => {
    const d = dir();
    const lock = acquireWriteLock(d, { ...options, staleMs: 120 });
    const path = join(d, "lock", "0000000000000001");
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    await sleep(200);
    expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(30_000);
    lock.release();
  });

  it("is let go as a released generation; the next writer takes the one after, with no warning", () => {
    const d = dir();
    acquireWriteLock(d, options).release();
    expect(lockFiles(d)).toEqual(["0000000000000002"]);
    expect(record(d, "0000000000000002")).toMatchObject({ released: true, pid: process.pid });
    const next = acquireWriteLock(d, options);
    expect(next.generation).toBe(3);
    expect(told).toEqual([]);
    expect(lockFiles(d)).toEqual(["0000000000000003"]);
    next.release();
  });

  it("fences a holder whose lock was taken over: check names the new holder, release leaves its lock alone", () => {
    const d = dir();
    const lock = acquireWriteLock(d, options);
    lock.check();
    // What a taker on another host does: its generation in place, then the ones below removed.
    const theirs = holderAt(d, 2, { pid: 4242, host: "operator-new", since: "2026-11-25T00:00:00Z" });
    lock.check();
    rmSync(join(d, "lock", "0000000000000001"));
    expect(() => lock.check()).toThrow(LedgerLockLost);
    expect(() => lock.check()).toThrow(
      /lock generation 1\) lost the write lock, now held by pid 4242 on operator-new \(generation 2, since 2026-11-25T00:00:00Z\)/,
    );
    lock.release();
    expect(lockFiles(d)).toEqual(["0000000000000002"]);
    expect(readFileSync(theirs, "utf8")).toContain("operator-new");
  });

  it("fences a holder whose lock file was removed by hand", () => {
    const d = dir();
    const lock = acquireWriteLock(d, options);
    rmSync(join(d, "lock"), { recursive: true });
    expect(() => lock.check()).toThrow(/lost the write lock, now nobody's: the lock files are gone/);
  });

  it("reads the stale window from the environment, and refuses a value that is not milliseconds", () => {
    const d = dir();
    holderAt(d, 1, { pid: 7, host: "operator-7d9f-abcde" }, 1_500);
    process.env[LOCK_STALE_ENV] = "1000";
    const lock = acquireWriteLock(d, { onStale: (why) => told.push(why) });
    expect(told).toEqual([expect.stringMatching(/not renewed for 1\.\d s/)]);
    lock.release();
    process.env[LOCK_STALE_ENV] = "30s";
    expect(() => acquireWriteLock(d, { onStale: () => undefined })).toThrow(LedgerOpenFailed);
  });
});
