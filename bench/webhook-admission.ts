// Admission as the kube-apiserver loads a webhook: HTTP/1.1 keep-alive, a pool of at most 25 idle
// connections (the API server's per-host idle limit), no TLS session resumption, and a new TLS
// connection for any call that finds no idle one, so above 25 calls in flight most calls pay a
// handshake. Mixed kinds (the sample ModelDeployment, a labelled Deployment, the signed sample
// ModelVersion), 25 and 500 calls in flight, against modelchain's webhook (`--source dir:samples`)
// and, in the same run, a bare node:https server that JSON.parses the review and answers a fixed
// allowing one, and the signature floor: bare plus the ed25519 check of each ModelVersion's
// signature, what any webhook that verifies signatures must add. Every review has its own uid, and
// by default every ModelVersion is another version with its own signature, so nothing a server
// remembers from one review answers the next. Each server runs in a process of its own, so its CPU
// time per review is its own. Goal: the webhook's CPU per review ≤ 1.2× the bare server's.
// Throughput and latency are printed beside it; see bench/webhook-apiserver.ts for what the API
// server itself sees.
//   BENCH_WEBHOOK_REVIEWS (6000), BENCH_WEBHOOK_ROUNDS (3), BENCH_WEBHOOK_INFLIGHT ("25,500"),
//   BENCH_WEBHOOK_ONLY=KIND: reviews of that kind alone (ModelDeployment, Deployment, ModelVersion),
//   BENCH_WEBHOOK_MV=distinct|repeated: each ModelVersion another version (default) or the sample
//   every time (re-applies and dry-run diffs of an unchanged manifest),
//   BENCH_WEBHOOK_PROF=DIR: each server's process writes a --cpu-prof profile into DIR
//   (bare.cpuprofile, floor.cpuprofile, webhook.cpuprofile).
import { Agent, request } from "node:https";
import { loadavg } from "node:os";
import { rmSync } from "node:fs";
import { servingCertificate } from "../test/envtest/webhook-tls.ts";
import { benchObjects, reviewBodies, versionMix } from "./_webhook-reviews.ts";
import { medianRound, startServerChild, type ServerChild, type ServerCpu } from "./_webhook-server.ts";

const REVIEWS = Number(process.env["BENCH_WEBHOOK_REVIEWS"] ?? 6_000);
const ROUNDS = Number(process.env["BENCH_WEBHOOK_ROUNDS"] ?? 3);
const IN_FLIGHT = (process.env["BENCH_WEBHOOK_INFLIGHT"] ?? "25,500").split(",").map(Number);
const PROF = process.env["BENCH_WEBHOOK_PROF"];
const MIX = versionMix(process.env["BENCH_WEBHOOK_MV"]);
/** The API server's idle connections per webhook host (MaxIdleConnsPerHost in its webhook client). */
const IDLE_POOL = 25;

interface Round {
  perSecond: number;
  p50: number;
  p99: number;
  /** Server CPU (user + system) per review, µs. */
  cpuUs: number;
  /** Of which system time (the kernel's TCP and TLS-record writes, wake-ups of the reader), µs. */
  sysUs: number;
  /** Share of calls that opened a new TLS connection. */
  fresh: number;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** `total` calls, `inFlight` at a time (each caller sends its next as soon as one is answered). */
async function load(
  server: ServerChild,
  bodies: readonly Buffer[],
  total: number,
  inFlight: number,
  ca: string,
) {
  // At most IDLE_POOL calls ride kept-alive connections; a call that finds all of them busy opens a
  // connection of its own, closed after it (the idle pool is full), as the API server's client does.
  const pooled = new Agent({
    keepAlive: true,
    maxSockets: IDLE_POOL,
    maxFreeSockets: IDLE_POOL,
    maxCachedSessions: 0,
    ca,
  });
  const single = new Agent({ keepAlive: false, maxSockets: Infinity, maxCachedSessions: 0, ca });
  let pooledBusy = 0;
  const latencies: number[] = [];
  let fresh = 0;
  let next = 0;
  const one = (body: Buffer, uid: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const inPool = pooledBusy < IDLE_POOL;
      if (inPool) pooledBusy++;
      const req = request(
        {
          agent: inPool ? pooled : single,
          host: "127.0.0.1",
          port: server.port,
          path: "/validate?timeout=10s",
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, */*",
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            latencies.push(performance.now() - started);
            if (inPool) pooledBusy--;
            if (!req.reusedSocket) fresh++;
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || !text.includes('"allowed":true'))
              reject(new Error(`${server.kind}: review ${uid} not admitted (${res.statusCode}): ${text}`));
            else resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const caller = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      await one(bodies[i % bodies.length] ?? Buffer.alloc(0), i);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, caller));
  const elapsed = performance.now() - started;
  pooled.destroy();
  single.destroy();
  latencies.sort((a, b) => a - b);
  return {
    perSecond: total / (elapsed / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    fresh: fresh / total,
  };
}

async function round(
  server: ServerChild,
  bodies: readonly Buffer[],
  inFlight: number,
  ca: string,
): Promise<Round> {
  const before: ServerCpu = await server.cpu();
  const r = await load(server, bodies, REVIEWS, inFlight, ca);
  const after: ServerCpu = await server.cpu();
  const reviews = after.reviews - before.reviews;
  if (reviews !== REVIEWS) throw new Error(`${server.kind} counted ${reviews} reviews, expected ${REVIEWS}`);
  const cpuUs = (after.user - before.user + (after.system - before.system)) / reviews;
  return { ...r, cpuUs, sysUs: (after.system - before.system) / reviews };
}

async function main(): Promise<void> {
  const tls = servingCertificate();
  const load1 = loadavg();
  const prof = (name: string): string[] =>
    PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROF}`, `--cpu-prof-name=${name}.cpuprofile`];
  const bare = await startServerChild("bare", tls, 0, prof("bare"));
  const floor = await startServerChild("floor", tls, 0, prof("floor"));
  const webhook = await startServerChild("webhook", tls, 0, prof("webhook"));
  const only = process.env["BENCH_WEBHOOK_ONLY"];
  const objects = benchObjects().filter((o) => only === undefined || o.kind === only);
  const servers = [bare, floor, webhook];
  try {
    // Warm-up: JIT on every side; the webhook's cache is warm once it listens.
    const warm = reviewBodies(objects, 1_500, "warm", MIX);
    for (const s of servers) await load(s, warm, warm.length, IDLE_POOL, tls.caPem);
    const results = new Map<string, Round[]>();
    // Alternate the servers round by round so that noise from a shared machine hits all of them;
    // each round's reviews are new to every server (made before the round, not timed).
    for (let r = 0; r < ROUNDS; r++)
      for (const inFlight of IN_FLIGHT) {
        const bodies = reviewBodies(objects, REVIEWS, `r${r}-${inFlight}`, MIX);
        for (const s of servers) {
          const key = `${inFlight} ${s.kind}`;
          results.set(key, [...(results.get(key) ?? []), await round(s, bodies, inFlight, tls.caPem)]);
        }
      }
    const load2 = loadavg();
    console.log(
      `webhook admission as the API server calls it: ${REVIEWS} CREATE reviews a round (${objects.map((o) => o.label).join(", ")} in turn; ModelVersions ${MIX}), ` +
        `keep-alive with ${IDLE_POOL} idle connections, a new TLS connection beyond them; median of ${ROUNDS} alternating rounds`,
    );
    console.log(
      `  load average ${load1.map((l) => l.toFixed(2)).join(" ")} before, ${load2.map((l) => l.toFixed(2)).join(" ")} after (2 cores, shared)`,
    );
    for (const inFlight of IN_FLIGHT) {
      const b = medianRound(results.get(`${inFlight} bare`) ?? []);
      const fl = medianRound(results.get(`${inFlight} floor`) ?? []);
      const w = medianRound(results.get(`${inFlight} webhook`) ?? []);
      console.log(`  ${inFlight} in flight:`);
      for (const [name, f] of [
        ["bare node:https", b],
        ["signature floor", fl],
        ["modelchain webhook", w],
      ] as const) {
        console.log(
          `    ${name.padEnd(19)} ${f.perSecond.toFixed(0).padStart(5)} reviews/s  p50 ${f.p50.toFixed(1)} ms  p99 ${f.p99.toFixed(1)} ms  ` +
            `CPU ${f.cpuUs.toFixed(0)} µs/review (system ${f.sysUs.toFixed(0)})  new connections ${(f.fresh * 100).toFixed(0)} %`,
        );
      }
      const ratio = (a: number, x: number): string => (x > 0 ? (a / x).toFixed(2) : "n/a");
      console.log(
        `    ratio webhook/bare: reviews/s ${ratio(w.perSecond, b.perSecond)}×  p50 ${ratio(w.p50, b.p50)}×  p99 ${ratio(w.p99, b.p99)}×  ` +
          `CPU/review ${ratio(w.cpuUs, b.cpuUs)}× (goal ≤ 1.2×: ${w.cpuUs <= 1.2 * b.cpuUs ? "met" : "not met"})`,
      );
      console.log(
        `    signature floor/bare: CPU/review ${ratio(fl.cpuUs, b.cpuUs)}×; webhook/floor: CPU/review ${ratio(w.cpuUs, fl.cpuUs)}×`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    rmSync(tls.dir, { recursive: true, force: true });
  }
}

await main();
