// Where a ModelVersion's artifact lives, read from its URI (pure). The Pod shape (image volume,
// fetch or verify init container) and the fetcher both start from this one parse.

export type ArtifactLocation =
  /** `repository` as named, a tag included: `registry/models/name[:tag]`. */
  | { scheme: "oci"; repository: string }
  | { scheme: "s3" | "gs"; bucket: string; key: string }
  | { scheme: "https"; url: string }
  /** `path` "" is the whole repository; one ending in "/" is a folder; others are a file or a folder. */
  | { scheme: "hf"; repo: string; revision: string; path: string }
  | { scheme: "pvc"; claim: string; path: string }
  /** An MLflow registered model version (`models:/NAME/VERSION`), resolved by `modelchain import mlflow`. */
  | { scheme: "models"; name: string; version: string }
  /** An MLflow run's artifact (`runs:/RUN_ID/PATH`, PATH "" for the run's whole artifact root). */
  | { scheme: "runs"; runId: string; path: string };

export class ArtifactUriError extends Error {
  override readonly name = "ArtifactUriError";
  constructor(uri: string, problem: string) {
    super(`artifact uri ${JSON.stringify(uri)}: ${problem}`);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function bucketObject(uri: string, scheme: "s3" | "gs", rest: string): ArtifactLocation {
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") throw new ArtifactUriError(uri, "no bucket");
  return { scheme, bucket, key };
}

/**
 * hf://<owner>/<repo>@<revision>[/<path>]: the Hub's `resolve` and `tree` URLs name the same
 * parts. No path (or a path ending in "/") is a directory, the whole repository or that folder;
 * any other path is a file or a folder, as the Hub's tree listing of it says (src/artifact/hub-source.ts).
 * `path` keeps a trailing "/" as an s3:// key does, so "" and "dir/" say "directory" outright.
 */
function hubLocation(uri: string, rest: string): ArtifactLocation {
  const at = rest.indexOf("@");
  if (at <= 0) throw new ArtifactUriError(uri, "expected hf://<repo>@<revision>[/<path>]");
  const repo = rest.slice(0, at);
  const after = rest.slice(at + 1);
  const slash = after.indexOf("/");
  const revision = slash < 0 ? after : after.slice(0, slash);
  if (revision === "")
    throw new ArtifactUriError(uri, "expected hf://<repo>@<revision>[/<path>] with a revision");
  const path = slash < 0 ? "" : after.slice(slash + 1).replace(/\/+$/, "/");
  const parts = path.replace(/\/$/, "").split("/");
  if (path !== "/" && path !== "" && parts.some((p) => p === "" || p === "." || p === ".."))
    throw new ArtifactUriError(uri, "path must be a plain relative path inside the repository");
  return { scheme: "hf", repo, revision, path: path === "/" ? "" : path };
}

function claimPath(uri: string, rest: string): ArtifactLocation {
  const slash = rest.indexOf("/");
  const claim = slash < 0 ? rest : rest.slice(0, slash);
  if (!DNS_LABEL.test(claim)) throw new ArtifactUriError(uri, `claim ${JSON.stringify(claim)} is not a name`);
  const path = slash < 0 ? "" : rest.slice(slash + 1).replace(/\/+$/, "");
  if (path.split("/").some((p) => p === ".."))
    throw new ArtifactUriError(uri, "path must stay inside the claim");
  return { scheme: "pvc", claim, path };
}

/**
 * MLflow's URIs, as its clients write them: one slash after the scheme, a registered model's name
 * (no "/" or ":", which MLflow refuses in names) and a version number; a stage or an alias
 * (`models:/NAME@champion`) can move to other bytes, so a signed spec names the version.
 */
function mlflowLocation(uri: string): ArtifactLocation | undefined {
  const model = /^models:\/([^/:]+)\/([1-9][0-9]*)$/.exec(uri);
  if (model !== null) return { scheme: "models", name: model[1] ?? "", version: model[2] ?? "" };
  if (uri.startsWith("models:/"))
    throw new ArtifactUriError(
      uri,
      "expected models:/<name>/<version number> (a stage, an alias or a logged model id is not pinned to one registered version)",
    );
  const run = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (run !== null) {
    const [, runId = "", path = ""] = run;
    if (path.split("/").some((p) => p === ".."))
      throw new ArtifactUriError(uri, "path must stay inside the run's artifacts");
    return { scheme: "runs", runId, path: path.replace(/\/+$/, "") };
  }
  if (uri.startsWith("runs:/")) throw new ArtifactUriError(uri, "expected runs:/<run id>/<path>");
  return undefined;
}

export function parseArtifactUri(uri: string): ArtifactLocation {
  const mlflow = mlflowLocation(uri);
  if (mlflow !== undefined) return mlflow;
  const match = /^([a-z0-9]+):\/\/(.+)$/.exec(uri);
  if (match === null) throw new ArtifactUriError(uri, "expected <scheme>://…");
  const [, scheme, rest = ""] = match;
  switch (scheme) {
    case "oci":
      // A tag may stay (the digest is what is pulled); a digest belongs in spec.artifact.digest.
      if (rest.includes("@"))
        throw new ArtifactUriError(uri, "name no digest here; it is spec.artifact.digest");
      return { scheme, repository: rest };
    case "s3":
    case "gs":
      return bucketObject(uri, scheme, rest);
    case "https":
      return { scheme, url: uri };
    case "hf":
      return hubLocation(uri, rest);
    case "pvc":
      return claimPath(uri, rest);
    default:
      throw new ArtifactUriError(
        uri,
        `scheme ${JSON.stringify(scheme)} is not one of oci, s3, gs, https, hf, pvc (or MLflow's models:/, runs:/)`,
      );
  }
}
