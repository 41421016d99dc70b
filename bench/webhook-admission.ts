// Admission latency over HTTPS: 10,000 AdmissionReviews at 500 concurrent connections
// (autocannon), warm cache, against the real webhook serving `--source dir:samples` and, in the
// same run, a bare node:https server that reads the body and answers a fixed AdmissionReview.
// The servers run in a child process so the load generator does not share their event loop.
// Goal: p99 ≤ 10 ms, since every apply of a gated object waits for the answer, and ≤ 2× the
// bare server, so what the review adds stays small beside TLS and HTTP themselves.
import { execFileSync, spawn } from "node:child_process";
import { createServer, request } from "node:https";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { admissionDuration } from "../src/metrics/index.ts";
import { modelchainVocabulary, readManifestFile, startWebhookService } from "../src/webhook/index.ts";

const REQUESTS = Number(process.env["BENCH_WEBHOOK_REQUESTS"] ?? 10_000);
const CONNECTIONS = Number(process.env["BENCH_WEBHOOK_CONNECTIONS"] ?? 500);
const ROUNDS = Number(process.env["BENCH_WEBHOOK_ROUNDS"] ?? 5);
const SAMPLES = process.env["BENCH_WEBHOOK_SAMPLES"] ?? join(import.meta.dirname, "..", "samples");

function reviewBody(): string {
  const md = readManifestFile(join(SAMPLES, "deployment.yaml")).find(
    (m) => m.object["kind"] === "ModelDeployment",
  );
  if (md === undefined) throw new Error(`${SAMPLES}/deployment.yaml has no ModelDeployment`);
  const metadata = md.object["metadata"];
  const namespace =
    typeof metadata === "object" &&
    metadata !== null &&
    "namespace" in metadata &&
    typeof metadata.namespace === "string"
      ? metadata.namespace
      : "default";
  const request = {
    uid: "bench",
    kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
    operation: "CREATE",
    namespace,
    name: "bench",
    object: md.object,
  };
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });
}

/** p50/p99 upper bounds from the webhook's own histogram: body received → response written. */
function serverSideP99(
  values: ReadonlyArray<{ value: number; labels: Record<string, unknown>; metricName?: string }>,
): { p50: string; p99: string; count: number } {
  const buckets = values
    .filter((v) => v.metricName?.endsWith("_bucket"))
    .map((v) => ({ le: Number(v.labels["le"]), count: v.value }));
  const total = buckets.find((b) => !Number.isFinite(b.le))?.count ?? 0;
  const upTo = (q: number): string => {
    const b = buckets.find((x) => x.count >= q * total);
    return b === undefined ? "n/a" : Number.isFinite(b.le) ? `≤ ${b.le * 1000} ms` : "> 1 s";
  };
  return { p50: upTo(0.5), p99: upTo(0.99), count: total };
}

async function child(certFile: string, keyFile: string): Promise<void> {
  const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  const fixed = JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "bench", allowed: true },
  });
  const bare = createServer(tls, (req, res) => {
    req.on("data", () => undefined);
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(fixed));
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const webhook = await startWebhookService({
    vocabulary: modelchainVocabulary,
    source: { type: "dir", path: SAMPLES },
    cluster: "bench",
    certFile,
    keyFile,
    port: 0,
    host: "127.0.0.1",
    log: quiet,
  });
  const address = bare.address();
  const barePort = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ bare: barePort, webhook: webhook.server.port })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    void admissionDuration.get().then((m) => {
      const own = serverSideP99(m.values);
      process.stdout.write(
        `webhook's own time per review (parse, decide, respond; ${own.count} reviews): p50 ${own.p50}, p99 ${own.p99}\n`,
      );
      process.exit(0);
    });
  });
}

interface Figures {
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
}

async function load(port: number, body: string, amount: number, connections: number): Promise<Figures> {
  const r = await autocannon({
    url: `https://127.0.0.1:${port}/validate`,
    method: "POST",
    body,
    amount,
    connections,
    headers: { "content-type": "application/json" },
    timeout: 30,
  });
  return { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, errors: r.errors, non2xx: r.non2xx };
}

function checkAnswer(port: number, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        rejectUnauthorized: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () =>
          text.includes('"allowed":true')
            ? resolve()
            : reject(
                new Error(
                  `the webhook did not admit the sample ModelDeployment (the bench would measure a denial): ${text}`,
                ),
              ),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function summarise(runs: Figures[]): Figures {
  const pick = (f: (x: Figures) => number): number => median(runs.map(f));
  return {
    p50: pick((x) => x.p50),
    p99: pick((x) => x.p99),
    max: pick((x) => x.max),
    errors: runs.reduce((a, x) => a + x.errors, 0),
    non2xx: runs.reduce((a, x) => a + x.non2xx, 0),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mc-bench-webhook-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=bench",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  const proc = spawn(process.execPath, [process.argv[1] ?? "", "--child", certFile, keyFile], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const ports = await new Promise<{ bare: number; webhook: number }>((resolve) =>
    proc.stdout.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()))),
  );
  const body = reviewBody();
  await checkAnswer(ports.webhook, body);
  const targets = [
    ["bare node:https", ports.bare],
    ["modelchain webhook", ports.webhook],
  ] as const;
  for (const [, port] of targets) await load(port, body, 2_000, 50); // warm-up: JIT; the cache is already warm
  // Alternate the two servers over several rounds so that noise from a shared machine hits both.
  const runs = new Map<string, Figures[]>(targets.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, port] of targets) runs.get(name)?.push(await load(port, body, REQUESTS, CONNECTIONS));
  }
  const rows = targets.map(([name]) => [name, summarise(runs.get(name) ?? [])] as const);
  const serverSide = new Promise<string>((resolve) =>
    proc.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  proc.stdin.end();
  const own = await serverSide;
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `webhook admission: ${REQUESTS} AdmissionReviews at ${CONNECTIONS} connections over HTTPS, median of ${ROUNDS} alternating rounds`,
  );
  for (const [name, f] of rows) {
    console.log(
      `  ${name.padEnd(20)} p50 ${f.p50} ms  p99 ${f.p99} ms  max ${f.max} ms  errors ${f.errors}  non-2xx ${f.non2xx}`,
    );
  }
  const [bare, webhook] = [rows[0]?.[1], rows[1]?.[1]];
  if (bare !== undefined && webhook !== undefined) {
    const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : "n/a");
    console.log(
      `  ratio webhook/bare: p50 ${ratio(webhook.p50, bare.p50)}×  p99 ${ratio(webhook.p99, bare.p99)}×  max ${ratio(webhook.max, bare.max)}×   (goal: p99 ≤ 10 ms and ≤ 2×)`,
    );
  }
  console.log(`  ${own}`);
  console.log(
    `  (client-side latencies include the TLS handshakes of ${CONNECTIONS} new connections per round, which both servers pay)`,
  );
}

if (process.argv[2] === "--child") await child(process.argv[3] ?? "", process.argv[4] ?? "");
else await main();
