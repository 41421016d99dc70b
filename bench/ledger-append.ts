// Append throughput of the file ledger at batch sizes 1, 16 and 256, beside three baselines
// measured in the same run on the same prepared entries:
//   - the CPU floor: per entry, RFC 8785 canonical JSON by the general `canonicalize`, UTF-8
//     encoding of the leaf, three SHA-256s (leaf, key, one tree node: a tree has about one inner
//     node per leaf), then one write + fdatasync of the batch's records, in the tightest loop;
//   - the raw syscall pattern: the writes and fsyncs a commit issues (stat of the lock file and
//     fstat of the segment around the segment write, the write, fdatasync, the index slots'
//     pwrite, one pwrite per tree level that gained nodes, and the derived files' sync every
//     SYNC_EVERY entries), done synchronously with bytes prepared before the clock starts;
//   - "awaited": the raw pattern with the segment's fdatasync awaited through the thread pool, as
//     a writer that does not block its event loop must issue it, the best such a writer can do
//     (the derived files' sync every SYNC_EVERY entries stays synchronous: it matters at batches
//     16 and 256 only).
// Goals (README "Benchmarks"): ≥ 0.8× the floor at batch 256, ≥ 0.8× the raw pattern at batch 1.
// The machine is shared and its fsync latency swings by 10× from one second to the next, so the
// four take turns: each run is cut into BENCH_ROUNDS rounds (default 64), every round runs the
// four on its share of the entries in a rotating order, and each figure sums its rounds' times.
import canonicalize from "canonicalize";
import { hash } from "node:crypto";
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { performance } from "node:perf_hooks";
import { FileLedger, type LedgerEntry } from "../src/ledger/index.ts";
import { writeDurably } from "../src/ledger/file/durable-file.ts";
import { SYNC_EVERY } from "../src/ledger/file/synced.ts";

const ENTRIES_PER_RUN = Number(process.env["BENCH_APPEND_ENTRIES"] ?? 8192);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 64);
// BENCH_LEDGER_DIR=/dev/shm (tmpfs, where fsync costs nothing) leaves only the CPU to compare.
const BENCH_DIR = process.env["BENCH_LEDGER_DIR"] ?? tmpdir();
const RECORDED_AT = "1764037170123456789";
const RECORDED_BY = "file:0123456789abcdef0123456789abcdef";
const HEADER_BYTES = 64;
const SLOT_BYTES = 64;

function entry(i: number): LedgerEntry {
  return {
    v: 1,
    kind: "RolloutStarted",
    cluster: "bench",
    subject: {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelDeployment",
      namespace: "ml",
      name: `md-${i % 97}`,
      uid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
    },
    key: `bench-${i}`,
    observedAt: "2026-11-25T00:00:00Z",
    data: {
      revision: i,
      image: `registry.example/serve@sha256:${i.toString(16).padStart(64, "0")}`,
      configHash: "sha256:" + "ab".repeat(32),
    },
  };
}

/** The entries of one run, cut into batches (built before any clock starts). */
function batchesOf(batch: number, count: number): LedgerEntry[][] {
  const out: LedgerEntry[][] = [];
  for (let i = 0; i < count; i += batch)
    out.push(Array.from({ length: Math.min(batch, count - i) }, (_, j) => entry(i + j)));
  return out;
}

/** One of the four measured: `run` appends some batches and returns the milliseconds they took. */
interface Contender {
  run(batches: LedgerEntry[][]): Promise<number> | number;
  close(): Promise<void> | void;
}

async function ledgerContender(): Promise<Contender> {
  const dir = mkdtempSync(join(BENCH_DIR, "mc-bench-ledger-"));
  const ledger = await FileLedger.open(dir, { warn: () => {} });
  return {
    async run(batches) {
      const started = performance.now();
      for (const entries of batches) await ledger.append(entries);
      return performance.now() - started;
    },
    async close() {
      await ledger.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const encoder = new TextEncoder();
const LEAF = Buffer.of(0);
const NODE = Buffer.of(1);
const leafText = (e: LedgerEntry): string =>
  `{"entry":${canonicalize(e)},"recordedAt":"${RECORDED_AT}","recordedBy":"${RECORDED_BY}"}`;

function floorContender(): Contender {
  const dir = mkdtempSync(join(BENCH_DIR, "mc-bench-floor-"));
  const fd = openSync(join(dir, "floor"), "a");
  let previous = Buffer.alloc(32);
  return {
    run(batches) {
      const started = performance.now();
      for (const entries of batches) {
        const records: Buffer[] = [];
        for (const e of entries) {
          const leaf = encoder.encode(leafText(e));
          const leafHash = hash("sha256", Buffer.concat([LEAF, leaf]), "buffer");
          const keyHash = hash("sha256", encoder.encode(e.key), "buffer");
          previous = hash("sha256", Buffer.concat([NODE, previous, leafHash]), "buffer");
          const record = Buffer.allocUnsafe(HEADER_BYTES + leaf.byteLength);
          record.set(leafHash, 16);
          record.set(keyHash.subarray(0, 16), 48);
          record.set(leaf, HEADER_BYTES);
          records.push(record);
        }
        writeSync(fd, Buffer.concat(records));
        fdatasyncSync(fd);
      }
      return performance.now() - started;
    },
    close() {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Levels ≥ 1 that gain nodes when the tree grows from `from` to `to` leaves, and how many each. */
function newNodes(from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let level = 1; 2 ** level <= to; level++) {
    const n = Math.floor(to / 2 ** level) - Math.floor(from / 2 ** level);
    if (n > 0) out.set(level, n);
  }
  return out;
}

/**
 * The raw pattern: the commit's syscalls, done synchronously with prepared bytes. `awaited`: the
 * same, but the fdatasync through the thread pool and awaited (fs.fdatasync, as a writer that
 * does not block its event loop must issue it): the least any such writer can take per commit.
 */
function rawPatternContender(awaited = false): Contender {
  const dir = mkdtempSync(join(BENCH_DIR, "mc-bench-raw-"));
  mkdirSync(join(dir, "tree"));
  const lockPath = join(dir, "lock");
  writeFileSync(lockPath, "");
  const segment = openSync(join(dir, "segment"), "a");
  const index = openSync(join(dir, "index"), "a+");
  const levels = new Map<number, number>();
  const levelFd = (level: number): number => {
    const fd = levels.get(level) ?? openSync(join(dir, "tree", `level-${level}`), "a+");
    levels.set(level, fd);
    return fd;
  };
  let size = 0;
  let synced = 0;
  return {
    async run(batches) {
      // The bytes of every commit, prepared before the clock starts: the baseline is the syscalls.
      const commits = batches.map((entries) => {
        const records = Buffer.concat(
          entries.map((e) => Buffer.concat([Buffer.alloc(HEADER_BYTES), encoder.encode(leafText(e))])),
        );
        const nodes = [...newNodes(size, size + entries.length)].map(([level, n]) => ({
          level,
          bytes: Buffer.alloc(32 * n, 1),
          at: 32 * Math.floor(size / 2 ** level),
        }));
        const slots = Buffer.alloc(SLOT_BYTES * entries.length, 1);
        const commit = { records, slots, at: SLOT_BYTES * size, nodes, size: size + entries.length };
        size += entries.length;
        return commit;
      });
      const started = performance.now();
      for (const commit of commits) {
        statSync(lockPath);
        fstatSync(segment);
        writeSync(segment, commit.records);
        statSync(lockPath);
        fstatSync(segment);
        if (awaited) await fdatasyncAwaited(segment);
        else fdatasyncSync(segment);
        writeSync(index, commit.slots, 0, commit.slots.byteLength, commit.at);
        for (const { level, bytes, at } of commit.nodes)
          writeSync(levelFd(level), bytes, 0, bytes.byteLength, at);
        if (commit.size - synced >= SYNC_EVERY) {
          fdatasyncSync(index);
          for (const fd of levels.values()) fdatasyncSync(fd);
          writeDurably(join(dir, "synced.json"), `${JSON.stringify({ size: commit.size })}\n`, "replace");
          synced = commit.size;
        }
      }
      return performance.now() - started;
    },
    close() {
      for (const fd of [segment, index, ...levels.values()]) closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const fdatasyncAwaited = promisify(fdatasync);

const perSecond = (count: number, ms: number): number => count / (ms / 1000);
const rate = (n: number): string => n.toFixed(0).padStart(9);
const us = (n: number): string => (1e6 / n).toFixed(1).padStart(8);

console.log(
  `ledger append (file backend) in ${BENCH_DIR}, ${ENTRIES_PER_RUN} entries per run (2,048 at batch 1), ${ROUNDS} interleaved rounds`,
);
console.log(
  "floor = canonicalize + UTF-8 + 3 SHA-256 + write/fdatasync per batch; raw = the commit's syscalls, synchronous; awaited = raw with its fdatasync awaited through the thread pool",
);
console.log(
  "batch     ledger  µs/entry      floor  µs/entry        raw  µs/entry    awaited  µs/entry  ledger/floor  ledger/raw  awaited/raw",
);
for (const batch of [1, 16, 256]) {
  const count = batch === 1 ? Math.min(ENTRIES_PER_RUN, 2048) : ENTRIES_PER_RUN;
  const batches = batchesOf(batch, count);
  const contenders = [
    await ledgerContender(),
    floorContender(),
    rawPatternContender(),
    rawPatternContender(true),
  ];
  const ms = contenders.map(() => 0);
  const perRound = Math.ceil(batches.length / ROUNDS);
  for (let r = 0; r * perRound < batches.length; r++) {
    const share = batches.slice(r * perRound, (r + 1) * perRound);
    for (let k = 0; k < contenders.length; k++) {
      const which = (r + k) % contenders.length;
      ms[which] = (ms[which] as number) + (await (contenders[which] as Contender).run(share));
    }
  }
  for (const c of contenders) await c.close();
  const [l, f, w, a] = ms.map((m) => perSecond(count, m)) as [number, number, number, number];
  console.log(
    `${String(batch).padStart(5)}  ${rate(l)}  ${us(l)}  ${rate(f)}  ${us(f)}  ${rate(w)}  ${us(w)}  ${rate(a)}  ${us(a)}  ${(l / f).toFixed(2).padStart(11)}x  ${(l / w).toFixed(2).padStart(9)}x  ${(a / w).toFixed(2).padStart(10)}x`,
  );
}
