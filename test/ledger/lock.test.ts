// The single-writer lock of the file ledger and the outbox, in the ways Kubernetes ends writers:
// a container restarted as the same pid on the same host name, a pod gone from another node.
import { statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { acquireWriteLock, LOCK_HEARTBEAT_MS, LOCK_STALE_MS } from "../../src/ledger/file/lock.ts";
import { tempDir } from "./fixtures.ts";

const lockAt = (dir: string, holder: object, ageMs = 0) => {
  const path = join(dir, "LOCK");
  writeFileSync(path, JSON.stringify(holder));
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
};

describe("the write lock", () => {
  const made: Array<() => void> = [];
  const dir = () => {
    const t = tempDir("modelchain-lock-");
    made.push(t.remove);
    return t.dir;
  };
  afterEach(() => {
    vi.useRealTimers();
    for (const remove of made.splice(0)) remove();
  });

  it("refuses while another host's writer keeps renewing it, naming that host", () => {
    const d = dir();
    lockAt(d, { pid: 7, host: "operator-7d9f-abcde" }, 1_000);
    expect(() => acquireWriteLock(d, () => undefined)).toThrow(
      /locked for writing by pid 7 on operator-7d9f-abcde/,
    );
  });

  it("takes over a lock another host stopped renewing (a pod that died), saying so", () => {
    const d = dir();
    lockAt(d, { pid: 7, host: "operator-7d9f-abcde" }, LOCK_STALE_MS + 30_000);
    const told: string[] = [];
    const release = acquireWriteLock(d, (why) => told.push(why));
    expect(told).toEqual([expect.stringMatching(/pid 7 on operator-7d9f-abcde, not renewed for 6\d s/)]);
    release();
  });

  it("takes over a lock with this process's own pid that this process never took (a restarted container)", () => {
    const d = dir();
    lockAt(d, { pid: process.pid, host: hostname() });
    const told: string[] = [];
    const release = acquireWriteLock(d, (why) => told.push(why));
    expect(told).toEqual([`pid ${process.pid}, an earlier process with this pid`]);
    // Held now: a second taker in this process is refused.
    expect(() => acquireWriteLock(d, () => undefined)).toThrow(/locked for writing/);
    release();
  });

  it("is renewed by its holder while held", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const d = dir();
    const release = acquireWriteLock(d, () => undefined);
    const path = join(d, "LOCK");
    const old = new Date(Date.now() - 20_000);
    utimesSync(path, old, old);
    vi.advanceTimersByTime(LOCK_HEARTBEAT_MS);
    expect(Date.now() - statSync(path).mtimeMs).toBeLessThan(5_000);
    release();
  });
});
