// Child process of bench/operator-scale.ts: a bare pair of informers (the baseline), the
// operator, or neither ("idle": the modules loaded, the floor), against the server at argv[3];
// prints one JSON line of measurements.
import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer } from "@kubernetes/client-node";
import pino from "pino";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import v8 from "node:v8";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { borrowedLedger, startOperator } from "../src/controller/index.ts";
import { FileLedger } from "../src/ledger/index.ts";

const [mode, url, expected] = process.argv.slice(2);
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: "c", server: url ?? "", skipTLSVerify: true }],
  users: [{ name: "u" }],
  contexts: [{ name: "c", cluster: "c", user: "u" }],
  currentContext: "c",
});
const started = performance.now();
const rss = () => process.memoryUsage().rss / 1024 / 1024;
const heap = () => process.memoryUsage().heapUsed / 1024 / 1024;
const gc = () => (globalThis as { gc?: () => void }).gc?.();
// Peaks of resident memory and of V8's heap, sampled through the run, per phase.
const peaks = { syncRssMiB: 0, syncHeapTotalMiB: 0, reconcileRssMiB: 0, reconcileHeapTotalMiB: 0 };
let phase: "sync" | "reconcile" = "sync";
const sample = () => {
  const m = process.memoryUsage();
  const r = m.rss / 1024 / 1024;
  const h = m.heapTotal / 1024 / 1024;
  if (phase === "sync") {
    peaks.syncRssMiB = Math.max(peaks.syncRssMiB, r);
    peaks.syncHeapTotalMiB = Math.max(peaks.syncHeapTotalMiB, h);
  } else {
    peaks.reconcileRssMiB = Math.max(peaks.reconcileRssMiB, r);
    peaks.reconcileHeapTotalMiB = Math.max(peaks.reconcileHeapTotalMiB, h);
  }
  if (process.env["BENCH_TRACE"]) process.stderr.write(`${phase} ${JSON.stringify(m)}\n`);
};
const sampler = setInterval(sample, 100);
/** BENCH_TRACE: where the resident memory is (smaps: anonymous mappings, [heap], LazyFree). */
const smaps = () => {
  if (!process.env["BENCH_TRACE"]) return;
  const sums: Record<string, number> = {};
  let name = "";
  for (const l of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (m) name = m[1] === "" ? "anon" : m[1]!.startsWith("/") ? "file" : m[1]!;
    const f = /^(Rss|LazyFree|Anonymous):\s+(\d+) kB/.exec(l);
    if (f) sums[`${name}.${f[1]}`] = Math.round(((sums[`${name}.${f[1]}`] ?? 0) + Number(f[2])) / 1);
  }
  const mib = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v / 1024)]));
  process.stderr.write(
    `smaps ${JSON.stringify(mib)} ${JSON.stringify(v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 1048576), Math.round(s.space_used_size / 1048576)]))}\n`,
  );
};
sampler.unref();

if (mode === "idle") {
  // The floor: this process with the operator's modules loaded, nothing listed or watched.
  await new Promise((r) => setTimeout(r, 500));
  gc();
  sample();
  process.stdout.write(`${JSON.stringify({ rssMiB: rss(), heapMiB: heap(), ...peaks })}\n`);
} else if (mode === "bare") {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const selector = "modelchain.io/model-version";
  const d = makeInformer(
    kc,
    "/apis/apps/v1/deployments",
    () => apps.listDeploymentForAllNamespaces({ labelSelector: selector }),
    selector,
  );
  const p = makeInformer(
    kc,
    "/api/v1/pods",
    () => core.listPodForAllNamespaces({ labelSelector: selector }),
    selector,
  );
  await Promise.all([d.start(), p.start()]);
  const syncMs = performance.now() - started;
  sample();
  gc();
  process.stdout.write(
    `${JSON.stringify({ syncMs, objects: d.list().length + p.list().length, rssMiB: rss(), heapMiB: heap(), ...peaks })}\n`,
  );
  await Promise.all([d.stop(), p.stop()]);
} else {
  const ledger = await FileLedger.open(mkdtempSync(join(tmpdir(), "mc-bench-scale-")), { warn: () => {} });
  const operator = await startOperator({
    kubeConfig: kc,
    ledger: borrowedLedger(ledger),
    cluster: "bench",
    log: pino({ level: "silent" }),
    workers: 4,
    progressPollMs: 60_000,
  });
  await operator.synced;
  const syncMs = performance.now() - started;
  sample();
  phase = "reconcile";
  const profiling = process.env["BENCH_HEAP_PROFILE"];
  const session = profiling ? new Session() : undefined;
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) =>
      session?.post(method, params, (e, r) => (e ? reject(e) : resolve(r))),
    );
  if (session !== undefined) {
    session.connect();
    await post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const want = Number(expected) * 2; // RolloutStarted + RolloutCompleted per Deployment
  while ((await ledger.size()) < want) await new Promise((r) => setTimeout(r, 100));
  const reconcileSeconds = (performance.now() - started - syncMs) / 1000;
  if (session !== undefined && profiling !== undefined)
    writeFileSync(profiling, JSON.stringify((await post("HeapProfiler.stopSampling")).profile));
  sample();
  smaps();
  gc();
  smaps();
  if (process.env["BENCH_HEAP_SNAPSHOT"]) v8.writeHeapSnapshot(process.env["BENCH_HEAP_SNAPSHOT"]);
  process.stdout.write(
    `${JSON.stringify({ syncMs, entries: await ledger.size(), deploymentsPerSecond: Number(expected) / reconcileSeconds, rssMiB: rss(), heapMiB: heap(), ...peaks })}\n`,
  );
  await operator.stop();
  await ledger.close();
}
process.exit(0);
