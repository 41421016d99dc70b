// Proof generation + verification, open time and memory on a 1,000,000-entry file ledger.
// The ledger is built once under the OS temp dir and reused by later runs. The figures for
// the opened ledger come from a child process, so its memory is not mixed with the build's.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { FileLedger, hashFromHex, verifyConsistency, verifyInclusion } from "../src/ledger/index.ts";

const SIZE = Number(process.env["BENCH_LEDGER_SIZE"] ?? 1_000_000);
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

async function measure(): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  let t = performance.now();
  const ledger = await FileLedger.open(dir, { readOnly: true });
  const openMs = performance.now() - t;
  const rssAfter = process.memoryUsage().rss;
  const size = await ledger.size();
  const root = hashFromHex(await ledger.root());
  const rounds = 1000;
  let genMs = 0;
  let verifyMs = 0;
  for (let r = 0; r < rounds; r++) {
    const index = Math.floor(Math.random() * size);
    t = performance.now();
    const proof = await ledger.inclusionProof(index);
    genMs += performance.now() - t;
    t = performance.now();
    verifyInclusion(
      index,
      size,
      hashFromHex(proof.leafHash),
      proof.auditPath.map((h) => hashFromHex(h)),
      root,
    );
    verifyMs += performance.now() - t;
  }
  let consistencyMs = 0;
  for (let r = 0; r < 200; r++) {
    const from = 1 + Math.floor(Math.random() * (size - 1));
    t = performance.now();
    const c = await ledger.consistencyProof(from);
    verifyConsistency(
      from,
      size,
      c.proof.map((h) => hashFromHex(h)),
      hashFromHex(c.fromRoot),
      root,
    );
    consistencyMs += performance.now() - t;
  }
  await ledger.close();
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`ledger of ${size} entries: open ${openMs.toFixed(0)} ms (goal < 1000 ms)`);
  console.log(
    `inclusion proof: generate ${(genMs / rounds).toFixed(3)} ms, verify ${(verifyMs / rounds).toFixed(3)} ms per proof (goal <= 1 ms each)`,
  );
  console.log(`consistency proof, generate + verify: ${(consistencyMs / 200).toFixed(3)} ms`);
  console.log(
    `memory: RSS ${mib(rssBefore)} MiB before open, ${mib(rssAfter)} MiB after (+${mib(rssAfter - rssBefore)} MiB for the key index and tree border)`,
  );
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
