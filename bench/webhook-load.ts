// Memory under many large concurrent reviews: 600 AdmissionReviews of 3 MiB sent at once over
// HTTPS to the webhook (`--source dir:samples`) in a child process, once with the default budget
// of in-flight body bytes and once with the budget lifted (what the server did before it had
// one). Prints the child's peak RSS while loaded and its RSS after 5 s idle, and the ratios.
// The TLS handshake timeout is lifted to Node's old 120 s in both runs: this one client opening
// 600 connections and encrypting 1.8 GB on one thread is slower to finish its handshakes than the
// 5 s default allows, and the budget, not the handshake timeout, is what is measured here.
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { request } from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { modelchainVocabulary, startWebhookService, WEBHOOK_LIMITS } from "../src/webhook/index.ts";

const REQUESTS = Number(process.env["BENCH_LOAD_REQUESTS"] ?? 600);
const BODY_BYTES = Number(process.env["BENCH_LOAD_BODY_BYTES"] ?? 3 * 1024 * 1024 - 4096);
const IDLE_MS = 5_000;
const SAMPLES = join(import.meta.dirname, "..", "samples");

interface Memory {
  peak: number;
  now: number;
  /** Connections the server ended early, by error code (handshake or request timeouts, parse errors). */
  clientErrors: Record<string, number>;
}

async function child(certFile: string, keyFile: string, budget: number): Promise<void> {
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const service = await startWebhookService({
    vocabulary: modelchainVocabulary,
    source: { type: "dir", path: SAMPLES },
    cluster: "bench",
    certFile,
    keyFile,
    port: 0,
    host: "127.0.0.1",
    limits: { inFlightBodyBytes: budget, handshakeTimeoutMs: 120_000 },
    log: quiet,
  });
  const clientErrors: Record<string, number> = {};
  service.server.server.on("clientError", (e: NodeJS.ErrnoException) => {
    const code = e.code ?? "unknown";
    clientErrors[code] = (clientErrors[code] ?? 0) + 1;
  });
  let peak = 0;
  setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  process.on("message", (m) => {
    if (m === "memory")
      process.send?.({ peak, now: process.memoryUsage.rss(), clientErrors } satisfies Memory);
  });
  process.send?.({ port: service.server.port });
}

function review(uid: number): Buffer {
  const request = {
    uid: `load-${uid}`,
    kind: { group: "apps", version: "v1", kind: "Deployment" },
    operation: "CREATE",
    namespace: "ml",
    name: "big",
    object: { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "big", annotations: {} } },
  };
  const base = JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });
  const padding = Math.max(0, BODY_BYTES - base.length - 16);
  request.object.metadata.annotations = { padding: "x".repeat(padding) };
  return Buffer.from(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request }));
}

function post(port: number, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        agent: false,
        rejectUnauthorized: false,
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (process.env["BENCH_LOAD_DEBUG"]) console.log(e.code, e.message);
      resolve(-1);
    });
    req.end(body);
  });
}

function ask(proc: ChildProcess): Promise<Memory> {
  return new Promise((resolve) => {
    proc.once("message", (m) => resolve(m as Memory));
    proc.send("memory");
  });
}

async function run(certFile: string, keyFile: string, budget: number) {
  const proc = fork(process.argv[1] ?? "", ["--child", certFile, keyFile, String(budget)]);
  const { port } = await new Promise<{ port: number }>((resolve) =>
    proc.once("message", (m) => resolve(m as { port: number })),
  );
  const before = await ask(proc);
  const body = review(0);
  const statuses = await Promise.all(Array.from({ length: REQUESTS }, () => post(port, body)));
  const loaded = await ask(proc);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = await ask(proc);
  proc.kill();
  const count = (s: number) => statuses.filter((x) => x === s).length;
  return {
    before: before.now,
    peak: loaded.peak,
    idle: idle.now,
    ok: count(200),
    busy: count(429),
    failed: count(-1),
    clientErrors: idle.clientErrors,
  };
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mc-bench-load-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"].concat([
      "-subj",
      "/CN=bench",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]),
    { stdio: "ignore" },
  );
  console.log(`${REQUESTS} concurrent reviews of ${mib(BODY_BYTES)} each over HTTPS`);
  const unbounded = await run(certFile, keyFile, Number.MAX_SAFE_INTEGER);
  const bounded = await run(certFile, keyFile, WEBHOOK_LIMITS.inFlightBodyBytes);
  for (const [name, r] of [
    ["no budget (as before)", unbounded],
    [`budget ${mib(WEBHOOK_LIMITS.inFlightBodyBytes)} (default)`, bounded],
  ] as const) {
    console.log(
      `${name.padEnd(24)} started ${mib(r.before)}, peak ${mib(r.peak)}, idle after ${IDLE_MS / 1000} s ${mib(r.idle)}; ` +
        `200: ${r.ok}, 429: ${r.busy}, connection errors: ${r.failed} ${JSON.stringify(r.clientErrors)}`,
    );
  }
  console.log(
    `peak RSS with the budget / without: ${(bounded.peak / unbounded.peak).toFixed(2)}×; ` +
      `idle: ${(bounded.idle / unbounded.idle).toFixed(2)}×`,
  );
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[2] === "--child")
  await child(process.argv[3] ?? "", process.argv[4] ?? "", Number(process.argv[5]));
else await main();
