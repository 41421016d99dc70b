// import mlflow: registered model versions from an MLflow tracking server (or an export
// directory of its answers) as ModelVersion YAML, ready for `sign`, or signed at once with --key.
// What MLflow did not record is said on standard error, field by field; nothing is made up.
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { Document } from "yaml";
import {
  describeErrors,
  parseArtifactUri,
  validateModelVersion,
  type ModelVersion,
} from "../../api/index.ts";
import {
  allVersions,
  ArtifactChangedSinceRegistration,
  authFromEnvironment,
  exportDirectory,
  ExportLayoutInvalid,
  importOne,
  MlflowHttp,
  MlflowImportFailed,
  MlflowSourceUnsupported,
  recording,
  trackingServer,
  type ImportRequest,
  type MlflowRegistry,
} from "../../mlflow/index.ts";
import { parseYamlDocuments } from "../../webhook/yaml-input.ts";
import { inputLimits } from "../input.ts";
import { qualifiedName } from "../manifests.ts";
import { CheckFailedError, CliInputError } from "../output.ts";
import { loadPrivateKey, reportSigned, signYamlDocuments } from "./sign.ts";

interface MlflowImportOptions {
  trackingUri?: string;
  from?: string;
  model?: string;
  version?: string;
  all?: boolean;
  namespace: string;
  save?: string;
  key?: string;
  parent: string[];
  out?: string;
}

/** The URIs given, --model/--version, or --all: exactly one way of saying what to import. */
function requestsOf(uris: readonly string[], opts: MlflowImportOptions): ImportRequest[] | "all" {
  const named = opts.model !== undefined || opts.version !== undefined;
  if (named && (opts.model === undefined || opts.version === undefined))
    throw new CliInputError("--model and --version go together");
  const registry = uris.every((u) => !u.startsWith("runs:/"));
  if (registry && opts.version !== undefined && !/^[1-9][0-9]*$/.test(opts.version))
    throw new CliInputError(
      `--version ${JSON.stringify(opts.version)}: MLflow versions are numbers (1, 2, …)`,
    );
  const locations = uris.map((uri) => {
    const where = (() => {
      try {
        return parseArtifactUri(uri);
      } catch (e: unknown) {
        throw new CliInputError(e instanceof Error ? e.message : String(e), { cause: e });
      }
    })();
    if (where.scheme !== "models" && where.scheme !== "runs")
      throw new CliInputError(`${uri}: expected models:/<name>/<version> or runs:/<run id>/<path>`);
    return where;
  });
  if (opts.all === true) {
    if (named || uris.length > 0) throw new CliInputError("--all imports every version: name none");
    return "all";
  }
  const runs = locations.filter((l) => l.scheme === "runs");
  if (runs.length > 0) {
    const [run] = runs;
    if (locations.length > 1 || run === undefined || opts.model === undefined || opts.version === undefined)
      throw new CliInputError(
        "runs:/<run id>/<path> imports one run artifact, named with --model and --version",
      );
    return [{ kind: "run", runId: run.runId, path: run.path, model: opts.model, version: opts.version }];
  }
  const requests: ImportRequest[] = locations.flatMap((l) =>
    l.scheme === "models" ? [{ kind: "version", name: l.name, version: l.version }] : [],
  );
  if (opts.model !== undefined && opts.version !== undefined)
    requests.push({ kind: "version", name: opts.model, version: opts.version });
  if (requests.length === 0)
    throw new CliInputError("name what to import: models:/<name>/<version>, --model and --version, or --all");
  return requests;
}

function registryOf(opts: MlflowImportOptions): MlflowRegistry {
  const trackingUri =
    opts.trackingUri ?? (opts.from === undefined ? process.env["MLFLOW_TRACKING_URI"] : undefined);
  if (opts.from !== undefined) {
    if (opts.trackingUri !== undefined)
      throw new CliInputError("--from reads an export offline: give no --tracking-uri");
    if (opts.save !== undefined)
      throw new CliInputError("--save writes an export while reading a tracking server, not --from");
    try {
      return exportDirectory(opts.from);
    } catch (e: unknown) {
      throw asInputError(e);
    }
  }
  if (trackingUri === undefined || trackingUri === "")
    throw new CliInputError("give --tracking-uri (or MLFLOW_TRACKING_URI), or --from an export directory");
  let server: MlflowRegistry;
  try {
    server = trackingServer(new MlflowHttp(trackingUri, authFromEnvironment(process.env)));
  } catch (e: unknown) {
    throw new CliInputError(e instanceof Error ? e.message : String(e), { cause: e });
  }
  return opts.save === undefined ? server : recording(server, opts.save);
}

/** Errors that mean the user named something MLflow does not have, or an unusable export. */
function asInputError(e: unknown): unknown {
  if (e instanceof ArtifactChangedSinceRegistration) return new CheckFailedError(e.message, { cause: e });
  if (
    e instanceof MlflowImportFailed ||
    e instanceof ExportLayoutInvalid ||
    e instanceof MlflowSourceUnsupported
  )
    return new CliInputError(e.message, { cause: e });
  return e;
}

function checked(mv: ModelVersion): ModelVersion {
  const result = validateModelVersion(mv);
  if (!result.ok)
    throw new MlflowImportFailed(
      `${qualifiedName(mv)}: ${describeErrors(result.errors)} (MLflow names it ${mv.spec.model} ${mv.spec.version})`,
    );
  return result.value;
}

async function run(uris: string[], opts: MlflowImportOptions): Promise<void> {
  const asked = requestsOf(uris, opts);
  const key = opts.key === undefined ? undefined : loadPrivateKey(opts.key);
  const registry = registryOf(opts);
  const importOptions = {
    registry,
    namespace: opts.namespace,
    ...(opts.save === undefined ? {} : { saveDir: opts.save }),
    ...(process.env["MLFLOW_S3_ENDPOINT_URL"] === undefined
      ? {}
      : { s3Endpoint: process.env["MLFLOW_S3_ENDPOINT_URL"] }),
  };
  const imported: ModelVersion[] = [];
  try {
    for (const request of asked === "all" ? await allVersions(registry) : asked) {
      const one = await importOne(request, importOptions);
      const mv = checked(one.modelVersion);
      for (const note of one.notes) process.stderr.write(`import mlflow: ${qualifiedName(mv)}: ${note}\n`);
      imported.push(mv);
    }
  } catch (e: unknown) {
    throw asInputError(e);
  }
  if (imported.length === 0)
    throw new CliInputError(`${registry.where}: no registered model version to import`);
  const text = imported.map((mv) => new Document(mv).toString({ lineWidth: 0 })).join("---\n");
  const out = key === undefined ? text : signed(text, key, opts.parent);
  if (opts.out === undefined || opts.out === "-") process.stdout.write(out);
  else writeFileSync(opts.out, out);
  for (const mv of imported)
    process.stderr.write(
      `imported ${mv.metadata.annotations?.["modelchain.io/mlflow-model-version"] ?? mv.spec.model} as ${qualifiedName(mv)} (${mv.spec.artifact.digest})\n`,
    );
}

function signed(text: string, key: ReturnType<typeof loadPrivateKey>, parents: readonly string[]): string {
  const docs = [...parseYamlDocuments(text, "the imported ModelVersions", inputLimits())];
  const result = signYamlDocuments(docs, "the imported ModelVersions", key, parents);
  reportSigned(result);
  return result.text;
}

export function registerImportCommand(program: Command): void {
  const command = program
    .command("import")
    .description("bring models in from another registry as ModelVersion YAML");
  command
    .command("mlflow")
    .description(
      "read registered model versions (source run, parameters, datasets, code version, parent) from MLflow's REST API, hash their artifact, and write ModelVersion YAML",
    )
    .argument(
      "[uri...]",
      "models:/<name>/<version> to import, or one runs:/<run id>/<path> (named by --model/--version)",
    )
    .option(
      "--tracking-uri <uri>",
      "the MLflow tracking server (default: MLFLOW_TRACKING_URI); credentials from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/_PASSWORD",
    )
    .option("--from <dir>", "read an export directory instead of a server (offline; see --save)")
    .option("--model <name>", "the registered model's name")
    .option("--version <version>", "its version")
    .option("--all", "every registered version")
    .option("-n, --namespace <namespace>", "namespace of the ModelVersions", "default")
    .option(
      "--save <dir>",
      "also write what was read (REST answers and artifacts) as an export directory for --from",
    )
    .option("--key <pem>", "sign the ModelVersions at once with this ed25519 key (as `modelchain sign`)")
    .option(
      "--parent <path...>",
      "with --key: manifests of parents not imported here, whose spec digests are bound",
      [],
    )
    .option("-o, --out <file>", "where to write the YAML (default: standard output)")
    .action((uris: string[], opts: MlflowImportOptions) => run(uris, opts));
}
