// Admission through the real kube-apiserver (the envtest control plane; `make envtest-assets`):
// one ValidatingWebhookConfiguration with two webhooks on 127.0.0.1, modelchain's
// (`--source dir:samples`) and a bare node:https one that JSON.parses the review and allows it,
// each in a process of its own and chosen by an object label. Dry-run creates (`?dryRun=All`) of
// the mixed kinds of bench/webhook-admission.ts are driven at 25 and 500 in flight, alternating
// between the two webhooks; each ModelVersion is another version, signed in the bench
// (BENCH_WEBHOOK_MV=repeated sends the sample itself every time). Printed per webhook: creates/s, the API server's own
// apiserver_admission_webhook_admission_duration_seconds p50/p99 (interpolated within its coarse
// buckets, as histogram_quantile does), the webhook process's CPU per review and the share of
// reviews that came on a new TLS connection. Goal: creates/s with modelchain's ≥ 0.95× with the bare.
//   BENCH_APISERVER_CREATES (3000), BENCH_APISERVER_ROUNDS (3), BENCH_APISERVER_INFLIGHT ("25,500")
import { Agent, request } from "node:https";
import { loadavg } from "node:os";
import { rmSync } from "node:fs";
import { envtestAssets } from "../test/envtest/assets.ts";
import { startControlPlane, type ControlPlane } from "../test/envtest/controlplane.ts";
import { servingCertificate } from "../test/envtest/webhook-tls.ts";
import { benchObjects, NAMESPACE, objectStream, versionMix, type BenchObject } from "./_webhook-reviews.ts";
import { medianRound, startServerChild, type ServerChild, type ServerCpu } from "./_webhook-server.ts";

const CREATES = Number(process.env["BENCH_APISERVER_CREATES"] ?? 3_000);
const ROUNDS = Number(process.env["BENCH_APISERVER_ROUNDS"] ?? 3);
const IN_FLIGHT = (process.env["BENCH_APISERVER_INFLIGHT"] ?? "25,500").split(",").map(Number);
const TARGET_LABEL = "bench.modelchain.io/target";
const METRIC = "apiserver_admission_webhook_admission_duration_seconds";

const webhookName = (s: ServerChild): string => `${s.kind}.bench.modelchain.io`;

function call(
  cp: ControlPlane,
  agent: Agent,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.apiServerUrl}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${cp.token}`,
          accept: "application/json",
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function configuration(servers: readonly ServerChild[], caPem: string): string {
  const rules = [
    {
      apiGroups: ["modelchain.io"],
      apiVersions: ["v1alpha1"],
      operations: ["CREATE"],
      resources: ["modeldeployments", "modelversions"],
      scope: "Namespaced",
    },
    {
      apiGroups: ["apps"],
      apiVersions: ["v1"],
      operations: ["CREATE"],
      resources: ["deployments"],
      scope: "Namespaced",
    },
  ];
  return JSON.stringify({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: "modelchain-bench" },
    webhooks: servers.map((s) => ({
      name: webhookName(s),
      clientConfig: {
        url: `https://127.0.0.1:${s.port}/validate`,
        caBundle: Buffer.from(caPem).toString("base64"),
      },
      rules,
      objectSelector: { matchLabels: { [TARGET_LABEL]: s.kind } },
      failurePolicy: "Fail",
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
      timeoutSeconds: 10,
    })),
  });
}

/** The object of `o` labelled for `target`, as JSON. */
function createBody(o: BenchObject, target: ServerChild): string {
  const metadata = o.object["metadata"] as Record<string, unknown>;
  const labels = {
    ...(metadata["labels"] as Record<string, string> | undefined),
    [TARGET_LABEL]: target.kind,
  };
  return JSON.stringify({ ...o.object, metadata: { ...metadata, labels } });
}

const pathOf = (o: BenchObject): string =>
  `/apis/${o.group}/${o.version}/namespaces/${NAMESPACE}/${o.resource}?dryRun=All`;

/** Cumulative bucket counts of the admission duration histogram for one webhook, by upper bound. */
async function histogram(cp: ControlPlane, agent: Agent, name: string): Promise<Map<number, number>> {
  const { text } = await call(cp, agent, "GET", "/metrics");
  const buckets = new Map<number, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${METRIC}_bucket{`) || !line.includes(`name="${name}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets;
}

/** As Prometheus' histogram_quantile: linear within the bucket the quantile falls in. */
function quantile(q: number, before: Map<number, number>, after: Map<number, number>): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [i, bound] of bounds.entries()) {
    const count = counts[i] ?? 0;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(1, count - below);
    }
    lower = bound;
    below = count;
  }
  return lower;
}

interface Round {
  perSecond: number;
  p50: number;
  p99: number;
  cpuUs: number;
  fresh: number;
}

const MIX = versionMix(process.env["BENCH_WEBHOOK_MV"]);
let streams = 0;

async function drive(
  cp: ControlPlane,
  target: ServerChild,
  objects: readonly BenchObject[],
  total: number,
  inFlight: number,
) {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight, ca: cp.caPem });
  // Every ModelVersion another version, signed here, unless BENCH_WEBHOOK_MV=repeated: as a
  // stream of creates, so no remembered check answers it.
  const stream = objectStream(objects, total, `${target.kind}-${++streams}`, MIX);
  const bodies = stream.map((o) => ({ path: pathOf(o), body: createBody(o, target) }));
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < total) {
      const c = bodies[next++];
      if (c === undefined) continue;
      const r = await call(cp, agent, "POST", c.path, c.body);
      if (r.status !== 201) throw new Error(`dry-run create at ${target.kind}: ${r.status} ${r.text}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, caller));
  const elapsed = performance.now() - started;
  agent.destroy();
  return total / (elapsed / 1000);
}

async function round(
  cp: ControlPlane,
  target: ServerChild,
  objects: readonly BenchObject[],
  inFlight: number,
): Promise<Round> {
  const agent = new Agent({ ca: cp.caPem });
  const name = webhookName(target);
  const h0 = await histogram(cp, agent, name);
  const c0: ServerCpu = await target.cpu();
  const perSecond = await drive(cp, target, objects, CREATES, inFlight);
  const c1: ServerCpu = await target.cpu();
  const h1 = await histogram(cp, agent, name);
  agent.destroy();
  const reviews = c1.reviews - c0.reviews;
  if (reviews < CREATES) throw new Error(`${target.kind} answered ${reviews} reviews for ${CREATES} creates`);
  return {
    perSecond,
    p50: quantile(0.5, h0, h1) * 1000,
    p99: quantile(0.99, h0, h1) * 1000,
    cpuUs: (c1.user - c0.user + (c1.system - c0.system)) / reviews,
    fresh: (c1.connections - c0.connections) / reviews,
  };
}

async function main(): Promise<void> {
  const assets = envtestAssets();
  if ("missing" in assets) {
    console.log(`webhook through the API server: skipped, ${assets.missing}`);
    return;
  }
  const load1 = loadavg();
  const cp = await startControlPlane({ crds: true });
  const tls = servingCertificate();
  const servers: ServerChild[] = [];
  try {
    servers.push(await startServerChild("bare", tls), await startServerChild("webhook", tls));
    const admin = new Agent({ ca: cp.caPem });
    const ns = await call(
      cp,
      admin,
      "POST",
      "/api/v1/namespaces",
      JSON.stringify({ metadata: { name: NAMESPACE } }),
    );
    if (ns.status !== 201) throw new Error(`namespace ${NAMESPACE}: ${ns.status} ${ns.text}`);
    const vwc = await call(
      cp,
      admin,
      "POST",
      "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
      configuration(servers, tls.caPem),
    );
    if (vwc.status !== 201) throw new Error(`ValidatingWebhookConfiguration: ${vwc.status} ${vwc.text}`);
    const objects = benchObjects();
    // The API server picks the configuration up asynchronously: wait until each webhook is called.
    for (const s of servers) {
      const deadline = Date.now() + 30_000;
      const before = (await s.cpu()).reviews;
      while ((await s.cpu()).reviews === before) {
        if (Date.now() > deadline) throw new Error(`the API server never called the ${s.kind} webhook`);
        await drive(cp, s, objects.slice(0, 1), 1, 1);
      }
    }
    // Warm-up: JIT in the webhooks and the API server's clients to them.
    for (const s of servers) await drive(cp, s, objects, 600, 25);
    const results = new Map<string, Round[]>();
    for (let r = 0; r < ROUNDS; r++)
      for (const inFlight of IN_FLIGHT)
        for (const s of servers) {
          const key = `${inFlight} ${s.kind}`;
          results.set(key, [...(results.get(key) ?? []), await round(cp, s, objects, inFlight)]);
        }
    admin.destroy();
    const load2 = loadavg();
    console.log(
      `webhook through the real kube-apiserver: ${CREATES} dry-run creates a round (${objects.map((o) => o.label).join(", ")} in turn; ModelVersions ${MIX}); ` +
        `latency is the API server's ${METRIC}; median of ${ROUNDS} alternating rounds`,
    );
    console.log(
      `  load average ${load1.map((l) => l.toFixed(2)).join(" ")} before, ${load2.map((l) => l.toFixed(2)).join(" ")} after (2 cores, shared)`,
    );
    for (const inFlight of IN_FLIGHT) {
      const b = medianRound(results.get(`${inFlight} bare`) ?? []);
      const w = medianRound(results.get(`${inFlight} webhook`) ?? []);
      console.log(`  ${inFlight} creates in flight:`);
      for (const [name, f] of [
        ["bare node:https", b],
        ["modelchain webhook", w],
      ] as const) {
        console.log(
          `    ${name.padEnd(19)} ${f.perSecond.toFixed(0).padStart(5)} creates/s  admission p50 ${f.p50.toFixed(1)} ms  p99 ${f.p99.toFixed(1)} ms  ` +
            `webhook CPU ${f.cpuUs.toFixed(0)} µs/review  new TLS connections ${(f.fresh * 100).toFixed(0)} % of reviews`,
        );
      }
      const ratio = (a: number, x: number): string => (x > 0 ? (a / x).toFixed(2) : "n/a");
      console.log(
        `    ratio webhook/bare: creates/s ${ratio(w.perSecond, b.perSecond)}× (goal ≥ 0.95×: ${w.perSecond >= 0.95 * b.perSecond ? "met" : "not met"})  ` +
          `p50 ${ratio(w.p50, b.p50)}×  p99 ${ratio(w.p99, b.p99)}×  CPU/review ${ratio(w.cpuUs, b.cpuUs)}×`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    await cp.stop();
    rmSync(tls.dir, { recursive: true, force: true });
  }
}

await main();
