// The operator at scale: 10,000 labelled Deployments and 50,000 Pods in the in-memory API
// server. Time to first full sync, Deployments reconciled (and recorded) per second, and
// resident memory (peak, sampled through the run, and after the last GC), each against a bare
// pair of informers holding the same objects, measured in the same run. Server and clients run
// in separate processes so their memory is apart. The operator runs with what the chart sets in
// its env (helm/modelchain/values.yaml): the V8 limits in NODE_OPTIONS (operator.v8) and
// MALLOC_TRIM_THRESHOLD_ (operator.mallocTrimThresholdBytes); an idle process with the same
// modules and settings gives the floor no cache can go below. The clients run bundled, as the
// image runs the operator (dist/, scripts/build.ts): a .ts entry would load Node's type stripper
// and each of about 1,600 modules on its own, tens of MiB of resident memory the image does not
// have (BENCH_CLIENT=ts keeps the source, for a profile with source positions).
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { bundle } from "../scripts/build.ts";

const deployments = Number(process.env["BENCH_DEPLOYMENTS"] ?? 10_000);
// "real": copies of objects captured from the real kube-apiserver (bench/fixtures/); "minimal".
const shape = process.env["BENCH_SHAPE"] ?? "real";
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const values = parse(readFileSync(here("../helm/modelchain/values.yaml"), "utf8")) as {
  operator: { v8: { maxOldSpaceMiB: number; maxSemiSpaceMiB: number }; mallocTrimThresholdBytes: number };
};
const { maxOldSpaceMiB, maxSemiSpaceMiB } = values.operator.v8;
const v8Flags = (
  process.env["BENCH_OPERATOR_V8"] ??
  `--max-old-space-size=${maxOldSpaceMiB} --max-semi-space-size=${maxSemiSpaceMiB}`
)
  .split(" ")
  .filter((f) => f !== "");

const server = spawn(
  process.execPath,
  ["--max-old-space-size=8192", here("./_scale-cluster.ts"), String(deployments), shape],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const url = await new Promise<string>((resolve) =>
  server.stdout.once("data", (c: Buffer) => resolve(c.toString().trim())),
);

/** bench/_scale-client.ts and what it imports, bundled as `npm run build` bundles src. */
async function bundledClient(): Promise<string> {
  if (process.env["BENCH_CLIENT"] === "ts") return here("./_scale-client.ts");
  const out = here("../node_modules/.cache/modelchain-bench");
  await bundle(out, { "_scale-client": here("./_scale-client.ts") });
  return join(out, "_scale-client.js");
}
const clientEntry = await bundledClient();

// The chart's MALLOC_TRIM_THRESHOLD_ (operator.mallocTrimThresholdBytes); BENCH_OPERATOR_MALLOC_TRIM
// overrides it, and an empty value leaves glibc's default (a threshold that rises as blocks are freed).
const mallocTrim =
  process.env["BENCH_OPERATOR_MALLOC_TRIM"] ?? String(values.operator.mallocTrimThresholdBytes);
const chartEnv: NodeJS.ProcessEnv = mallocTrim === "" ? {} : { MALLOC_TRIM_THRESHOLD_: mallocTrim };

function client(
  mode: "bare" | "operator" | "idle",
  flags: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Record<string, number> {
  const run = spawnSync(
    process.execPath,
    ["--expose-gc", ...flags, clientEntry, mode, url, String(deployments)],
    { encoding: "utf8", maxBuffer: 1 << 20, env: { ...process.env, ...env } },
  );
  if (run.status !== 0) throw new Error(`${mode} client failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
}

try {
  const idle = client("idle", v8Flags, chartEnv);
  const bare = client("bare");
  const operator = client("operator", v8Flags, chartEnv);
  const f = (n: number | undefined, d = 0) => (n ?? NaN).toFixed(d);
  const ratio = (a: number | undefined, b: number | undefined) => f((a ?? 0) / (b ?? 1), 2);
  const operatorPeak = Math.max(operator["syncRssMiB"] ?? 0, operator["reconcileRssMiB"] ?? 0);
  console.log(
    `operator scale: ${deployments} labelled Deployments, ${deployments * 5} Pods (in-memory API server, ${shape} objects); operator V8 flags: ${v8Flags.join(" ")}, MALLOC_TRIM_THRESHOLD_=${mallocTrim === "" ? "(unset)" : mallocTrim}; clients run ${clientEntry.endsWith(".js") ? "bundled (as the image)" : "from source"}`,
  );
  console.log(
    `first full sync: operator ${f(operator["syncMs"])} ms, bare informers ${f(bare["syncMs"])} ms, ratio ${ratio(operator["syncMs"], bare["syncMs"])}x (goal <= 1.2)`,
  );
  console.log(
    `reconciled and recorded: ${f(operator["deploymentsPerSecond"])} Deployments/s (${f(operator["entries"])} ledger entries, fsync'd; goal >= 150)`,
  );
  console.log(
    `peak resident memory: operator ${f(operatorPeak)} MiB (goal <= 256; sync ${f(operator["syncRssMiB"])}, reconcile ${f(operator["reconcileRssMiB"])}), bare informers ${f(bare["syncRssMiB"])} MiB, ratio ${ratio(operatorPeak, bare["syncRssMiB"])}x`,
  );
  console.log(
    `resident memory after GC: operator ${f(operator["rssMiB"])} MiB, bare informers ${f(bare["rssMiB"])} MiB, ratio ${ratio(operator["rssMiB"], bare["rssMiB"])}x; idle process with the operator's modules ${f(idle["rssMiB"])} MiB`,
  );
  console.log(
    `peak V8 heap: operator ${f(Math.max(operator["syncHeapTotalMiB"] ?? 0, operator["reconcileHeapTotalMiB"] ?? 0))} MiB, bare informers ${f(bare["syncHeapTotalMiB"])} MiB`,
  );
  console.log(
    `live heap after GC: operator ${f(operator["heapMiB"])} MiB, bare informers ${f(bare["heapMiB"])} MiB, ratio ${ratio(operator["heapMiB"], bare["heapMiB"])}x; idle ${f(idle["heapMiB"])} MiB`,
  );
} finally {
  server.kill();
}
