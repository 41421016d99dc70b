// What fencing costs per commit. A commit's durable step is one segment write and one
// fdatasync; fenced, the write lock is checked (a read of the lock directory and a stat) and
// the segment's length compared (fstat) before and after the write. Both are measured in the
// same run, alternating commit by commit on the same disk, with the same prepared bytes; the ratio is
// fenced / unfenced. The file ledger's whole append (batch of 1) is shown for scale.
import { closeSync, fdatasyncSync, fstatSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fencedAppend } from "../src/ledger/file/fence.ts";
import { acquireWriteLock, type WriteLock } from "../src/ledger/file/lock.ts";
import { FileLedger } from "../src/ledger/index.ts";

const COMMITS = Number(process.env["BENCH_FENCE_COMMITS"] ?? 1000);
const ROUNDS = 4;
const RECORD = Buffer.alloc(600, 7);
const base = process.env["BENCH_DIR"] ?? tmpdir();

interface Segment {
  dir: string;
  path: string;
  fd: number;
  end: number;
}

function segment(): Segment {
  const dir = mkdtempSync(join(base, "mc-bench-fence-"));
  const path = join(dir, "segment");
  return { dir, path, fd: openSync(path, "a"), end: 0 };
}

/** One commit's durable step, fenced or not; returns its milliseconds. */
function commit(s: Segment, lock: WriteLock | undefined): number {
  const started = performance.now();
  if (lock === undefined) writeSync(s.fd, RECORD);
  else fencedAppend(s.fd, s.path, RECORD, s.end, lock);
  s.end += RECORD.byteLength;
  fdatasyncSync(s.fd);
  return performance.now() - started;
}

/** Alternates fenced and unfenced commits, one each per step, so load on the machine hits both alike. */
function commits(lock: WriteLock, count: number): { fenced: number; unfenced: number } {
  const plain = segment();
  const guarded = segment();
  const total = { fenced: 0, unfenced: 0 };
  for (let i = 0; i < count; i++) {
    total.unfenced += commit(plain, undefined);
    total.fenced += commit(guarded, lock);
  }
  for (const s of [plain, guarded]) {
    closeSync(s.fd);
    rmSync(s.dir, { recursive: true, force: true });
  }
  return total;
}

/** The fence's own work per commit, without the write: two lock checks and two fstats. */
function fenceWork(lock: WriteLock, count: number): number {
  const s = segment();
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    lock.check();
    fstatSync(s.fd);
    fstatSync(s.fd);
    lock.check();
  }
  const ms = performance.now() - started;
  closeSync(s.fd);
  rmSync(s.dir, { recursive: true, force: true });
  return ms;
}

async function ledgerCommitMs(count: number): Promise<number> {
  const dir = mkdtempSync(join(base, "mc-bench-fence-ledger-"));
  const ledger = await FileLedger.open(dir, { warn: () => undefined });
  const entry = (i: number) => ({
    v: 1,
    kind: "RolloutStarted",
    cluster: "bench",
    subject: {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelDeployment",
      namespace: "ml",
      name: "md",
      uid: "u",
    },
    key: `fence-${i}`,
    observedAt: "2026-11-25T00:00:00Z",
    data: { revision: i },
  });
  const started = performance.now();
  for (let i = 0; i < count; i++) await ledger.append([entry(i)]);
  const ms = performance.now() - started;
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const lockDir = mkdtempSync(join(base, "mc-bench-fence-lock-"));
const lock = acquireWriteLock(lockDir, { onStale: () => undefined });
const { fenced, unfenced } = commits(lock, COMMITS * ROUNDS);
const fenceUs = (fenceWork(lock, COMMITS * 10) / (COMMITS * 10)) * 1000;
const ledgerUs = ((await ledgerCommitMs(COMMITS)) / COMMITS) * 1000;
lock.release();
rmSync(lockDir, { recursive: true, force: true });

const n = COMMITS * ROUNDS;
const us = (ms: number): string => ((ms / n) * 1000).toFixed(1);
const unfencedUs = (unfenced / n) * 1000;
console.log(`fencing per commit, ${n} commits of ${RECORD.byteLength} bytes each way, in ${base}`);
console.log("commit (write + fdatasync)      unfenced µs  fenced µs  ratio");
console.log(
  `${"measured, alternating".padEnd(30)}  ${us(unfenced).padStart(11)}  ${us(fenced).padStart(9)}  ${(fenced / unfenced).toFixed(3)}x`,
);
console.log(
  `${"fence work alone added".padEnd(30)}  ${unfencedUs.toFixed(1).padStart(11)}  ${(unfencedUs + fenceUs).toFixed(1).padStart(9)}  ${((unfencedUs + fenceUs) / unfencedUs).toFixed(3)}x`,
);
console.log(
  `fence work (2 lock checks + 2 fstat): ${fenceUs.toFixed(1)} µs per commit; a file ledger append of 1 entry: ${ledgerUs.toFixed(1)} µs (fence ${((fenceUs / ledgerUs) * 100).toFixed(2)} %)`,
);
