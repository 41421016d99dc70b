// Child process of bench/operator-scale.ts: either a bare pair of informers (the baseline) or
// the operator, against the server at argv[3]; prints one JSON line of measurements.
import { AppsV1Api, CoreV1Api, KubeConfig, makeInformer } from "@kubernetes/client-node";
import pino from "pino";
import { mkdtempSync } from "node:fs";
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

if (mode === "bare") {
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
  gc();
  process.stdout.write(
    `${JSON.stringify({ syncMs, objects: d.list().length + p.list().length, rssMiB: rss(), heapMiB: heap() })}\n`,
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
  const want = Number(expected) * 2; // RolloutStarted + RolloutCompleted per Deployment
  while ((await ledger.size()) < want) await new Promise((r) => setTimeout(r, 100));
  const reconcileSeconds = (performance.now() - started - syncMs) / 1000;
  gc();
  process.stdout.write(
    `${JSON.stringify({ syncMs, entries: await ledger.size(), deploymentsPerSecond: Number(expected) / reconcileSeconds, rssMiB: rss(), heapMiB: heap() })}\n`,
  );
  await operator.stop();
  await ledger.close();
}
process.exit(0);
