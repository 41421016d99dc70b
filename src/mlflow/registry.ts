// Where the importer reads MLflow from: a tracking server (REST), or an export directory of the
// same answers saved as files, so the import runs offline in a CI pipeline. The layout:
//
//   model-versions/<name>/<version>.json  GET /api/2.0/mlflow/model-versions/get (name URI-encoded)
//   runs/<run id>.json                    GET /api/2.0/mlflow/runs/get
//   logged-models/<model id>.json         GET /api/2.0/mlflow/logged-models/<id> (MLflow 3)
//   artifacts/<path>                      the files of mlflow-artifacts:/<path>: a copy of the
//                                         server's artifact root (its --artifacts-destination)
//
// `--save DIR` writes exactly this while importing online.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ArtifactSource } from "../artifact/index.ts";
import { MlflowHttp } from "./http.ts";
import { versionPageOf } from "./records.ts";

/** A proxied artifact: already on this disk (an export), or to be downloaded. */
export type ProxyAccess = { dir: string } | { source: ArtifactSource };

export interface MlflowRegistry {
  /** For messages: the tracking URI (without credentials) or the export directory. */
  readonly where: string;
  /** The REST answer, or undefined when there is no such version. */
  modelVersion(name: string, version: string): Promise<unknown>;
  run(runId: string): Promise<unknown>;
  loggedModel(modelId: string): Promise<unknown>;
  /** Every registered version, for --all. */
  versions(): Promise<Array<{ name: string; version: string }>>;
  proxy(path: string): ProxyAccess;
}

export class ExportLayoutInvalid extends Error {
  override readonly name = "ExportLayoutInvalid";
}

const PAGE = "1000";

export function trackingServer(http: MlflowHttp): MlflowRegistry {
  return {
    where: http.shown,
    modelVersion: (name, version) => http.json("/model-versions/get", { name, version }),
    run: (runId) => http.json("/runs/get", { run_id: runId }),
    loggedModel: (modelId) => http.json(`/logged-models/${encodeURIComponent(modelId)}`),
    async versions() {
      const all: Array<{ name: string; version: string }> = [];
      let token: string | undefined;
      do {
        const answer = await http.json("/model-versions/search", {
          max_results: PAGE,
          ...(token === undefined ? {} : { page_token: token }),
        });
        const page = versionPageOf(answer ?? {}, "model-versions/search");
        all.push(...page.versions);
        token = page.next;
      } while (token !== undefined);
      return all;
    },
    proxy: (path) => ({ source: http.proxySource(path) }),
  };
}

const versionFile = (dir: string, name: string, version: string): string =>
  join(dir, "model-versions", encodeURIComponent(name), `${version}.json`);
const runFile = (dir: string, runId: string): string =>
  join(dir, "runs", `${encodeURIComponent(runId)}.json`);
const loggedModelFile = (dir: string, id: string): string =>
  join(dir, "logged-models", `${encodeURIComponent(id)}.json`);

function readAnswer(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch (e: unknown) {
    throw new ExportLayoutInvalid(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** An export directory in the layout above. */
export function exportDirectory(dir: string): MlflowRegistry {
  if (!existsSync(join(dir, "model-versions")))
    throw new ExportLayoutInvalid(`${dir}: no model-versions/ folder (not an MLflow export directory)`);
  return {
    where: dir,
    modelVersion: (name, version) => Promise.resolve(readAnswer(versionFile(dir, name, version))),
    run: (runId) => Promise.resolve(readAnswer(runFile(dir, runId))),
    loggedModel: (id) => Promise.resolve(readAnswer(loggedModelFile(dir, id))),
    versions() {
      const root = join(dir, "model-versions");
      return Promise.resolve(
        readdirSync(root).flatMap((model) =>
          readdirSync(join(root, model))
            .filter((f) => /^[1-9][0-9]*\.json$/.test(f))
            .map((f) => ({ name: decodeURIComponent(model), version: f.slice(0, -".json".length) })),
        ),
      );
    },
    proxy: (path) => ({ dir: join(dir, "artifacts", ...path.split("/").filter((p) => p !== "")) }),
  };
}

function save(file: string, answer: unknown): unknown {
  if (answer === undefined) return answer;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(answer, null, 2)}\n`);
  return answer;
}

/** `inner`, with every answer also written to `dir` in the export layout. */
export function recording(inner: MlflowRegistry, dir: string): MlflowRegistry {
  return {
    ...inner,
    modelVersion: async (name, version) =>
      save(versionFile(dir, name, version), await inner.modelVersion(name, version)),
    run: async (runId) => save(runFile(dir, runId), await inner.run(runId)),
    loggedModel: async (id) => save(loggedModelFile(dir, id), await inner.loggedModel(id)),
  };
}

/** Where `--save` puts the files of mlflow-artifacts:/<path>. */
export function savedArtifactDir(dir: string, path: string): string {
  return join(dir, "artifacts", ...path.split("/").filter((p) => p !== ""));
}
