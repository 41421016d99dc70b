// What checking an artifact where it arrives costs: SHA-256 throughput of `artifact verify` and
// of `artifact fetch` (HTTPS on loopback, streamed to disk while hashed) on one large file,
// against `sha256sum` of the same file in the same run (goal ≥ 0.8×), and each process's peak
// RSS (goal ≤ 64 MiB above an idle Node process: the bytes are streamed, never held).
// BENCH_ARTIFACT_BYTES sets the size (2 GiB unless given).
import { execFileSync, spawn } from "node:child_process";
import {
  createReadStream,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
  closeSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { manifestDigest } from "../src/artifact/index.ts";

const BYTES = Number(process.env["BENCH_ARTIFACT_BYTES"] ?? 2 * 1024 ** 3);
const base = mkdtempSync(join(process.env["BENCH_DIR"] ?? tmpdir(), "mc-bench-artifact-"));
const file = join(base, "weights.bin");
const child = join(import.meta.dirname, "_artifact-child.ts");

function writeFile(): void {
  const block = randomBytes(1024 * 1024);
  const fd = openSync(file, "w");
  for (let written = 0; written < BYTES; written += block.length)
    writeSync(fd, block, 0, Math.min(block.length, BYTES - written));
  closeSync(fd);
}

function sha256sum(): { ms: number; hex: string } {
  const started = performance.now();
  const out = execFileSync("sha256sum", [file], { encoding: "utf8" });
  return { ms: performance.now() - started, hex: out.slice(0, 64) };
}

function runChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ ms: number; maxRssBytes: number }> {
  // Asynchronous: the HTTPS server serving the fetch lives in this process.
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [child, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.on("close", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as { ms: number; maxRssBytes: number })
        : reject(new Error(`child exited ${String(code)}`)),
    );
  });
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

const gib = (bytes: number, ms: number): string => `${(bytes / 1024 ** 3 / (ms / 1000)).toFixed(2)} GiB/s`;
const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

try {
  writeFile();
  const first = sha256sum();
  const digest = manifestDigest([{ path: "weights.bin", sha256: first.hex }]);
  const idle = await runChild(["idle"]);
  const verify = await runChild(["verify", file, digest]);
  const server = await serve();
  const fetched = await runChild(["fetch", server.url, digest, join(base, "dest")], {
    NODE_EXTRA_CA_CERTS: server.ca,
  });
  server.close();
  const second = sha256sum();
  const baseline = (first.ms + second.ms) / 2;
  console.log(
    `artifact check of one ${mib(BYTES)} file; sha256sum ${gib(BYTES, baseline)} (mean of a run before and after)`,
  );
  console.log("                         throughput    vs sha256sum   peak RSS    above idle Node");
  for (const [name, r] of [
    ["artifact verify", verify],
    ["artifact fetch (https)", fetched],
  ] as const)
    console.log(
      `${name.padEnd(24)} ${gib(BYTES, r.ms).padStart(10)}    ${(baseline / r.ms).toFixed(2).padStart(6)}x     ${mib(r.maxRssBytes).padStart(9)}   ${mib(r.maxRssBytes - idle.maxRssBytes).padStart(9)}`,
    );
  console.log(`idle Node process peak RSS ${mib(idle.maxRssBytes)}`);
} finally {
  rmSync(base, { recursive: true, force: true });
}
