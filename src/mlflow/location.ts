// Where a registered version's files are, read from the URIs MLflow hands out (pure). A version's
// `source` may name the files themselves (a store URI) or point on: `runs:/RUN/PATH` (a run's
// artifact), `models:/m-ID` (an MLflow 3 logged model), `models:/NAME/VERSION` (another version).

/** A step that needs another answer from MLflow before the store is known. */
export type Indirection =
  | { kind: "run"; runId: string; path: string }
  | { kind: "loggedModel"; modelId: string }
  | { kind: "version"; name: string; version: string };

/** A store the importer reads: the tracking server's artifact proxy, a local path, S3 or GCS. */
export type Store =
  /** `mlflow-artifacts:/PATH`: PATH below the server's artifact root, read through the proxy. */
  { kind: "proxy"; path: string } | { kind: "local"; path: string } | { kind: "bucket"; uri: string };

export class MlflowSourceUnsupported extends Error {
  override readonly name = "MlflowSourceUnsupported";
  constructor(uri: string, problem: string) {
    super(`mlflow: source ${JSON.stringify(uri)}: ${problem}`);
  }
}

function noDotDot(uri: string, path: string): string {
  if (path.split("/").some((p) => p === ".."))
    throw new MlflowSourceUnsupported(uri, "its path leaves the artifact root");
  return path.replace(/^\/+|\/+$/g, "");
}

/** The next step of `uri`: an indirection to follow, or the store that holds the files. */
export function locate(uri: string): Indirection | Store {
  const run = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (run !== null) return { kind: "run", runId: run[1] ?? "", path: noDotDot(uri, run[2] ?? "") };
  const logged = /^models:\/(m-[0-9a-f]+)$/.exec(uri);
  if (logged !== null) return { kind: "loggedModel", modelId: logged[1] ?? "" };
  const version = /^models:\/([^/:]+)\/([1-9][0-9]*)$/.exec(uri);
  if (version !== null) return { kind: "version", name: version[1] ?? "", version: version[2] ?? "" };
  if (uri.startsWith("models:/"))
    throw new MlflowSourceUnsupported(uri, "expected models:/m-<id> or models:/<name>/<version>");
  // mlflow-artifacts:/PATH, or mlflow-artifacts://HOST/PATH (the same proxy named by host).
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(uri);
  if (proxied !== null) return { kind: "proxy", path: noDotDot(uri, proxied[1] ?? "") };
  if (uri.startsWith("file://")) {
    const url = new URL(uri);
    if (url.host !== "" && url.host !== "localhost")
      throw new MlflowSourceUnsupported(uri, "a file:// URI on another host");
    return { kind: "local", path: decodeURIComponent(url.pathname) };
  }
  if (uri.startsWith("/")) return { kind: "local", path: uri };
  if (/^(s3|gs):\/\/[^/]+/.test(uri)) return { kind: "bucket", uri };
  throw new MlflowSourceUnsupported(
    uri,
    "modelchain reads artifacts through the tracking server (mlflow-artifacts:/), from a local path, or from s3:// or gs://",
  );
}

/** `base` joined with a relative `path` (a run's artifact root and the artifact below it). */
export function below(base: string, path: string): string {
  return path === "" ? base : `${base.replace(/\/+$/, "")}/${path}`;
}

/** The URI a ModelVersion can name for a store (one the operator delivers), if there is one. */
export function deliverableUri(store: Store): string | undefined {
  if (store.kind !== "bucket") return undefined;
  // A trailing "/" makes the fetcher take every object under the prefix: the model directory.
  return store.uri.endsWith("/") ? store.uri : `${store.uri}/`;
}
