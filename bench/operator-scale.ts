// The operator at scale: 10,000 labelled Deployments and 50,000 Pods in the in-memory API
// server. Time to first full sync, Deployments reconciled (and recorded) per second, and
// resident memory, each against a bare pair of informers holding the same objects, measured
// in the same run. Server and clients run in separate processes so their memory is apart.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const deployments = Number(process.env["BENCH_DEPLOYMENTS"] ?? 10_000);
// "real": copies of objects captured from the real kube-apiserver (bench/fixtures/); "minimal".
const shape = process.env["BENCH_SHAPE"] ?? "real";
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

const server = spawn(
  process.execPath,
  ["--max-old-space-size=8192", here("./_scale-cluster.ts"), String(deployments), shape],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise<string>((resolve) =>
  server.stdout.once("data", (c: Buffer) => resolve(c.toString().trim())),
);

function client(mode: "bare" | "operator"): Record<string, number> {
  const run = spawnSync(
    process.execPath,
    ["--expose-gc", here("./_scale-client.ts"), mode, url, String(deployments)],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  if (run.status !== 0) throw new Error(`${mode} client failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
}

try {
  const bare = client("bare");
  const operator = client("operator");
  const f = (n: number | undefined, d = 0) => (n ?? NaN).toFixed(d);
  console.log(
    `operator scale: ${deployments} labelled Deployments, ${deployments * 5} Pods (in-memory API server, ${shape} objects)`,
  );
  console.log(
    `first full sync: operator ${f(operator["syncMs"])} ms, bare informers ${f(bare["syncMs"])} ms, ratio ${f((operator["syncMs"] ?? 0) / (bare["syncMs"] ?? 1), 2)}x`,
  );
  console.log(
    `reconciled and recorded: ${f(operator["deploymentsPerSecond"])} Deployments/s (${f(operator["entries"])} ledger entries, fsync'd)`,
  );
  console.log(
    `resident memory: operator ${f(operator["rssMiB"])} MiB (goal <= 256), bare informers ${f(bare["rssMiB"])} MiB, ratio ${f((operator["rssMiB"] ?? 0) / (bare["rssMiB"] ?? 1), 2)}x`,
  );
  console.log(
    `live heap after GC: operator ${f(operator["heapMiB"])} MiB, bare informers ${f(bare["heapMiB"])} MiB, ratio ${f((operator["heapMiB"] ?? 0) / (bare["heapMiB"] ?? 1), 2)}x`,
  );
} finally {
  server.kill();
}
