// Append throughput of the file ledger at batch sizes 1, 16 and 256, as a ratio against a
// raw baseline measured in the same run: the same record bytes written with fs and fsync'd
// per batch (prepared before timing), without validation, canonical JSON, hashing, index or tree.
import { mkdtempSync, rmSync, openSync, writeSync, fdatasyncSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { FileLedger, encodeEnvelope, type LedgerEntry } from "../src/ledger/index.ts";

const ENTRIES_PER_RUN = Number(process.env["BENCH_APPEND_ENTRIES"] ?? 8192);

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

async function ledgerRate(batch: number, count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "mc-bench-ledger-"));
  const ledger = await FileLedger.open(dir, { warn: () => {} });
  const started = performance.now();
  for (let i = 0; i < count; i += batch) {
    await ledger.append(Array.from({ length: Math.min(batch, count - i) }, (_, j) => entry(i + j)));
  }
  const seconds = (performance.now() - started) / 1000;
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return count / seconds;
}

function rawRate(batch: number, count: number): number {
  const dir = mkdtempSync(join(tmpdir(), "mc-bench-raw-"));
  const fd = openSync(join(dir, "raw"), "a");
  const record = (i: number) =>
    Buffer.concat([
      Buffer.alloc(64),
      encodeEnvelope({
        entry: entry(i),
        recordedAt: "1764037170123456789",
        recordedBy: "file:0123456789abcdef0123456789abcdef",
      }),
    ]);
  // The bytes are prepared before the clock starts: the baseline is the disk, nothing else.
  const batches: Buffer[] = [];
  for (let i = 0; i < count; i += batch)
    batches.push(Buffer.concat(Array.from({ length: Math.min(batch, count - i) }, (_, j) => record(i + j))));
  const started = performance.now();
  for (const bytes of batches) {
    writeSync(fd, bytes);
    fdatasyncSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
  return count / seconds;
}

console.log(
  `ledger append (file backend), ${ENTRIES_PER_RUN} entries per run, ratio = ledger / raw fs append+fdatasync of the same bytes`,
);
console.log("batch  ledger entries/s  raw entries/s  ratio");
for (const batch of [1, 16, 256]) {
  const count = batch === 1 ? Math.min(ENTRIES_PER_RUN, 2048) : ENTRIES_PER_RUN;
  const raw = rawRate(batch, count);
  const ledger = await ledgerRate(batch, count);
  console.log(
    `${String(batch).padStart(5)}  ${ledger.toFixed(0).padStart(16)}  ${raw.toFixed(0).padStart(13)}  ${(ledger / raw).toFixed(2)}x`,
  );
}
