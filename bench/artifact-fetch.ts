// What checking an artifact where it arrives costs: `modelchain artifact verify` and `artifact
// fetch` (HTTPS on loopback, streamed to disk while hashed) of one large file, each run as the
// init container runs it (the bundled CLI, `node --no-opt --no-maglev --single-threaded-gc
// dist/cli/bin.js`, with the init container's NODE_OPTIONS), against `sha256sum` of the same file in the same round (goal ≥ 0.8×), with each
// process's peak RSS (goal ≤ 64 MiB: streamed, never held in memory). Printed beside them: the
// floor, an idle `node -e 'setTimeout(()=>{},1e4)'`; the CLI with the artifact command loaded and
// nothing done (`artifact fetch --help`); the fetch as run by hand (no NODE_OPTIONS, the
// compilers switched off by cli/bin.ts at run time);
// and `dd` of the same file with fsync, what writing it to this disk costs without any network or
// hashing (the fetch fsyncs the file before renaming it into place). Every step starts after a `sync`.
// Rounds alternate the order (the machine is shared); each figure has the load average at its start.
// BENCH_ARTIFACT_BYTES sets the size (2 GiB unless given), BENCH_ROUNDS the rounds (3),
// BENCH_ARTIFACT_NODE_FLAGS the node flags of the init container steps.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import os, { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { manifestDigest } from "../src/artifact/index.ts";
import { ARTIFACT_NODE_FLAGS, ARTIFACT_NODE_OPTIONS } from "../src/controller/artifact-pod.ts";
import { bundle } from "../scripts/build.ts";

const BYTES = Number(process.env["BENCH_ARTIFACT_BYTES"] ?? 2 * 1024 ** 3);
// The init container's node flags unless given (space-separated; "" for none), for an A/B.
const NODE_FLAGS = (process.env["BENCH_ARTIFACT_NODE_FLAGS"] ?? ARTIFACT_NODE_FLAGS.join(" "))
  .split(" ")
  .filter((f) => f !== "");
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const repo = join(import.meta.dirname, "..");
const base = mkdtempSync(join(process.env["BENCH_DIR"] ?? tmpdir(), "mc-bench-artifact-"));
const file = join(base, "weights.bin");
const dist = join(base, "dist");
const rssReport = join(base, "rss-at-exit.cjs");

interface Run {
  ms: number;
  /** Peak RSS, bytes; undefined for a program that is not Node (sha256sum, cp). */
  rss?: number;
  /** CPU time (user + system), ms; for the Node processes only. */
  cpuMs?: number;
  load: number;
}

function writeFile(): void {
  const block = randomBytes(1024 * 1024);
  const fd = openSync(file, "w");
  for (let written = 0; written < BYTES; written += block.length)
    writeSync(fd, block, 0, Math.min(block.length, BYTES - written));
  closeSync(fd);
}

/** The CLI as the image has it: src bundled by scripts/build.ts, node_modules beside it. */
async function buildCli(): Promise<void> {
  await bundle(dist);
  symlinkSync(join(repo, "node_modules"), join(base, "node_modules"));
  writeFileSync(join(base, "package.json"), JSON.stringify({ name: "modelchain", type: "module" }));
  // Preloaded with -r (CommonJS, always loaded): the process's own peak RSS and CPU time, on fd 3,
  // at exit. VmHWM, not getrusage's maxRSS: Linux carries that across fork and exec, so a child
  // reports the bench's own RSS when that is larger.
  writeFileSync(
    rssReport,
    [
      'const fs = require("node:fs");',
      'process.on("exit", () => {',
      '  const hwm = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync("/proc/self/status", "utf8"));',
      "  const u = process.resourceUsage();",
      "  const cpuMs = (u.userCPUTime + u.systemCPUTime) / 1000;",
      "  fs.writeSync(3, JSON.stringify({ rss: Number(hwm[1]) * 1024, cpuMs }));",
      "});",
      "",
    ].join("\n"),
  );
}

function timed(command: string, args: string[]): Run {
  const load = loadavg()[0] ?? 0;
  const started = performance.now();
  execFileSync(command, args, { stdio: ["ignore", "ignore", "inherit"] });
  return { ms: performance.now() - started, load };
}

/** One CLI process: wall time from spawn to exit (start-up included, as an init container's), peak RSS. */
/** The CLI with `env`; as the init container, node's own flags are its command line's. */
function runCli(args: string[], env: NodeJS.ProcessEnv, nodeFlags: readonly string[] = []): Promise<Run> {
  const load = loadavg()[0] ?? 0;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...nodeFlags, "-r", rssReport, join(dist, "cli/bin.js"), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "inherit", "pipe"],
    });
    let report = "";
    c.stdio[3]?.on("data", (d: Buffer) => (report += d.toString()));
    c.on("close", (code) =>
      code === 0
        ? resolve({
            ms: performance.now() - started,
            ...(JSON.parse(report) as { rss: number; cpuMs: number }),
            load,
          })
        : reject(new Error(`modelchain ${args.join(" ")} exited ${String(code)}`)),
    );
  });
}

/** The floor: the peak RSS of `node -e 'setTimeout(()=>{},1e4)'`, read from /proc a second in. */
async function floor(): Promise<Run> {
  const load = loadavg()[0] ?? 0;
  const c = spawn(process.execPath, ["-e", "setTimeout(()=>{},1e4)"], { stdio: "ignore", env: {} });
  await sleep(1000);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(c.pid)}/status`, "utf8"));
  c.kill();
  return { ms: 0, rss: Number(hwm?.[1]) * 1024, load };
}

async function serve(): Promise<{ url: string; ca: string; close: () => void }> {
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
      join(base, "key.pem"),
      "-out",
      join(base, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  const server = createServer(
    { cert: readFileSync(join(base, "cert.pem")), key: readFileSync(join(base, "key.pem")) },
    (_req, res) => {
      res.writeHead(200, { "content-length": statSync(file).size });
      createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(res);
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/weights.bin`,
    ca: join(base, "cert.pem"),
    close: () => server.close(),
  };
}

const gib = (ms: number): string => `${(BYTES / 1024 ** 3 / (ms / 1000)).toFixed(2)} GiB/s`;
const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? (s[(s.length - 1) / 2] ?? 0)
    : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

const NAMES = [
  "sha256sum",
  "dd (write the file, fsync)",
  "artifact verify",
  "artifact fetch (https)",
  "fetch, no NODE_OPTIONS",
  "CLI idle (fetch --help)",
  "node floor (setTimeout)",
] as const;
type Name = (typeof NAMES)[number];

try {
  writeFile();
  execFileSync("sync");
  await buildCli();
  const digest = manifestDigest([
    { path: "weights.bin", sha256: execFileSync("sha256sum", [file], { encoding: "utf8" }).slice(0, 64) },
  ]);
  const server = await serve();
  const initEnv = { NODE_OPTIONS: ARTIFACT_NODE_OPTIONS, NODE_EXTRA_CA_CERTS: server.ca };
  const fetchArgs = [
    "artifact",
    "fetch",
    "--uri",
    server.url,
    "--digest",
    digest,
    "--dest",
    join(base, "dest"),
  ];
  const steps: Record<Name, () => Promise<Run>> = {
    sha256sum: () => Promise.resolve(timed("sha256sum", [file])),
    "dd (write the file, fsync)": () =>
      Promise.resolve(
        timed("dd", [`if=${file}`, `of=${join(base, "copy")}`, "bs=1M", "conv=fsync", "status=none"]),
      ),
    "artifact verify": () =>
      runCli(["artifact", "verify", "--path", file, "--digest", digest], initEnv, NODE_FLAGS),
    "artifact fetch (https)": () => runCli(fetchArgs, initEnv, NODE_FLAGS),
    // Run by hand: no NODE_OPTIONS, and the compilers switched off by cli/bin.ts at run time.
    "fetch, no NODE_OPTIONS": () => runCli(fetchArgs, { NODE_EXTRA_CA_CERTS: server.ca }),
    "CLI idle (fetch --help)": () => runCli(["artifact", "fetch", "--help"], initEnv, NODE_FLAGS),
    "node floor (setTimeout)": floor,
  };
  const rounds: Array<Map<Name, Run>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results = new Map<Name, Run>();
    for (const name of round % 2 === 0 ? NAMES : [...NAMES].reverse()) {
      results.set(name, await steps[name]());
      rmSync(join(base, "dest"), { recursive: true, force: true });
      rmSync(join(base, "copy"), { force: true });
      // No step pays for the writeback of another's (or another engineer's) dirty pages.
      execFileSync("sync");
    }
    rounds.push(results);
  }
  server.close();

  const baselineOf = (r: Map<Name, Run>): number => r.get("sha256sum")?.ms ?? NaN;
  const isTimed = (name: Name): boolean => !name.startsWith("CLI idle") && !name.startsWith("node floor");
  const row = (name: Name, ms: number, ratio: number, rss?: number, cpuMs?: number, last = ""): string =>
    [
      name.padEnd(30),
      (isTimed(name) ? gib(ms) : "").padStart(11),
      (isTimed(name) ? `${ratio.toFixed(2)}x` : "").padStart(12),
      (rss === undefined ? "" : mib(rss)).padStart(10),
      (cpuMs === undefined || !isTimed(name) ? "" : `${(cpuMs / 1000).toFixed(1)} s`).padStart(8),
      last.padStart(12),
    ].join(" ");
  const header = (title: string, last: string): string =>
    `${title.padEnd(30)} ${"throughput".padStart(11)} ${"vs sha256sum".padStart(12)} ${"peak RSS".padStart(10)} ${"CPU".padStart(8)} ${last.padStart(12)}`;
  console.log(
    `artifact check of one ${mib(BYTES)} file, ${ROUNDS} rounds (order alternating); ratios against sha256sum of the same round`,
  );
  console.log(
    `the CLI as the init container runs it: node ${NODE_FLAGS.join(" ")} dist/cli/bin.js, NODE_OPTIONS=${ARTIFACT_NODE_OPTIONS}`,
  );
  for (const [i, r] of rounds.entries()) {
    console.log(`\n${header(`round ${i + 1}`, "load avg")}`);
    for (const name of NAMES) {
      const run = r.get(name);
      if (run !== undefined)
        console.log(row(name, run.ms, baselineOf(r) / run.ms, run.rss, run.cpuMs, run.load.toFixed(1)));
    }
  }
  const floorRss = median(rounds.map((r) => r.get("node floor (setTimeout)")?.rss ?? NaN));
  console.log(`\n${header("median over rounds", "above floor")}`);
  for (const name of NAMES) {
    const runs = rounds.map((r) => r.get(name)).filter((x): x is Run => x !== undefined);
    const rss = runs[0]?.rss === undefined ? undefined : median(runs.map((x) => x.rss ?? NaN));
    const cpuMs = runs[0]?.cpuMs === undefined ? undefined : median(runs.map((x) => x.cpuMs ?? NaN));
    const ratio = median(rounds.map((r) => baselineOf(r) / (r.get(name)?.ms ?? NaN)));
    const above = rss === undefined ? "" : `+${mib(rss - floorRss)}`;
    console.log(row(name, median(runs.map((x) => x.ms)), ratio, rss, cpuMs, above));
  }
  const loads = rounds.flatMap((r) => [...r.values()].map((x) => x.load));
  console.log(
    `load average (1 min) at the steps' starts: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; ${os.availableParallelism()} cores`,
  );
} finally {
  rmSync(base, { recursive: true, force: true });
}
