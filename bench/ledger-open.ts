// What opening a 1,000,000-entry file ledger costs with the checks of its derived files (the
// index and the tree levels; see src/ledger/file/synced.ts), against a baseline measured in the
// same run: loading the key index, which every open did before these checks, and reading every
// byte of the derived files once, the least any check of them can cost.
// Scenarios: a clean ledger (synced up to its size: every slot's placement and every node's
// non-zero check, nothing re-derived), the worst case between two syncs (65,536 entries since
// the last one re-derived), and after a crash with no sync at all (every record re-read and
// re-hashed, every node recomputed). The ledger is built once under the OS temp dir and reused.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FileLedger } from "../src/ledger/index.ts";
import { FixedSlotFile } from "../src/ledger/file/fixed-file.ts";
import { KeyIndex } from "../src/ledger/file/key-index.ts";
import { leafHashesOfSlots, SLOT_BYTES } from "../src/ledger/file/record.ts";
import { recoverIndex } from "../src/ledger/file/recovery.ts";
import { SegmentStore } from "../src/ledger/file/segments.ts";
import { SYNC_EVERY } from "../src/ledger/file/synced.ts";
import { TreeFiles } from "../src/ledger/file/tree-files.ts";

const SIZE = Number(process.env["BENCH_LEDGER_SIZE"] ?? 1_000_000);
const ROUNDS = 3;
const dir = join(tmpdir(), `modelchain-bench-ledger-${SIZE}`);

async function build(): Promise<void> {
  if (existsSync(join(dir, "complete"))) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const ledger = await FileLedger.open(dir, { warn: () => {} });
  const started = performance.now();
  for (let i = 0; i < SIZE; i += 1024) {
    const batch = Array.from({ length: Math.min(1024, SIZE - i) }, (_, j) => ({
      v: 1,
      kind: "RolloutCompleted",
      cluster: "bench",
      subject: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        namespace: `ns-${(i + j) % 50}`,
        name: `serve-${(i + j) % 1000}`,
      },
      key: `proof-bench-${i + j}`,
      observedAt: "2026-11-25T00:00:00Z",
      data: { revision: i + j },
    }));
    await ledger.append(batch);
  }
  await ledger.close();
  console.log(`built ${SIZE} entries in ${((performance.now() - started) / 1000).toFixed(1)} s (${dir})`);
  mkdirSync(join(dir, "complete"));
}

function readEveryByte(paths: string[]): number {
  const buf = Buffer.alloc(2 * 1024 * 1024);
  let total = 0;
  for (const path of paths) {
    const fd = openSync(path, "r");
    try {
      for (let got = readSync(fd, buf); got > 0; got = readSync(fd, buf)) total += got;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}

async function openMs(synced: number | undefined): Promise<number> {
  const path = join(dir, "synced.json");
  if (synced === undefined) rmSync(path, { force: true });
  else writeFileSync(path, JSON.stringify({ size: synced }));
  const started = performance.now();
  const ledger = await FileLedger.open(dir, { readOnly: true });
  const ms = performance.now() - started;
  await ledger.close();
  return ms;
}

/** The parts of a clean open, each on its own: what opening did before the checks, and the checks. */
function partsMs(size: number): Record<string, number> {
  const index = FixedSlotFile.open(join(dir, "index"), SLOT_BYTES, true);
  const segments = SegmentStore.open(join(dir, "segments"), { readOnly: true });
  const time = (run: () => void): number => {
    const started = performance.now();
    run();
    return performance.now() - started;
  };
  const leaves = {
    at: (i: number) => leafHashesOfSlots(index.readRange(i, 1))[0] ?? new Uint8Array(32),
    range: (first: number, n: number) => leafHashesOfSlots(index.readRange(first, n)),
  };
  const parts = {
    keyIndex: time(() => new KeyIndex().load(index, size)),
    slots: time(() => recoverIndex(segments, index, { dir, readOnly: true, warn: () => {}, reread: size })),
    tree: time(() => new TreeFiles(join(dir, "tree"), true, leaves).recover(size, size, () => {})),
    reread: time(() =>
      recoverIndex(segments, index, { dir, readOnly: true, warn: () => {}, reread: size - SYNC_EVERY }),
    ),
    recompute: time(() =>
      new TreeFiles(join(dir, "tree"), true, leaves).recover(size, size - SYNC_EVERY, () => {}),
    ),
  };
  void index.close();
  void segments.close();
  return parts;
}

async function measure(): Promise<void> {
  const writer = await FileLedger.open(dir, { warn: () => {} });
  const size = await writer.size();
  await writer.close();
  const derived = [join(dir, "index"), ...readdirSync(join(dir, "tree")).map((n) => join(dir, "tree", n))];
  const baseline: number[] = [];
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    bytes = readEveryByte(derived);
    baseline.push(performance.now() - started);
  }
  const base = median(baseline);
  console.log(
    `ledger of ${size} entries; baseline: reading the ${(bytes / 2 ** 20).toFixed(0)} MiB of index and tree files once: ${base.toFixed(0)} ms`,
  );
  const runs = Array.from({ length: ROUNDS }, () => partsMs(size));
  const part = (k: string): number => median(runs.map((r) => r[k] ?? Number.NaN));
  const keys = part("keyIndex");
  console.log(`loading the key index (what every open did before these checks): ${keys.toFixed(0)} ms`);
  const checks: Array<[string, number]> = [
    ["every slot follows the one before it", part("slots")],
    ["no stored tree node is zeroed", part("tree")],
    [`re-reading and re-hashing the last ${SYNC_EVERY} records`, part("reread") - part("slots")],
    [`recomputing the tree nodes over the last ${SYNC_EVERY} entries`, part("recompute") - part("tree")],
  ];
  for (const [what, ms] of checks)
    console.log(`  check: ${what}: ${ms.toFixed(0)} ms (${(ms / keys).toFixed(2)}x the key index)`);
  const scenarios: Array<[string, number | undefined]> = [
    ["clean (synced at its size)", size],
    [`${SYNC_EVERY} entries since the last sync`, Math.max(0, size - SYNC_EVERY)],
    ["after a crash, never synced", undefined],
  ];
  for (const [name, synced] of scenarios) {
    const ms = await openMs(synced);
    console.log(`read-only open, ${name}: ${ms.toFixed(0)} ms (${(ms / keys).toFixed(1)}x the key index)`);
  }
  writeFileSync(join(dir, "synced.json"), JSON.stringify({ size }));
}

if (process.argv[2] === "--measure") {
  await measure();
} else {
  await build();
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--measure"], {
    stdio: "inherit",
    env: process.env,
  });
  process.exitCode = child.status ?? 1;
}
