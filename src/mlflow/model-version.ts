// The ModelVersion an MLflow registered version becomes (pure). Only what MLflow recorded goes
// in; every field it cannot fill is a note naming the field and what follows from its absence,
// never a guess.
import { API_VERSION, type Dataset, type ModelVersion, type Training } from "../api/index.ts";
import type { HashedArtifact } from "./artifact.ts";
import { kubernetesName } from "./names.ts";
import type { DatasetInput, RegisteredVersion, Run } from "./records.ts";

/** Tags modelchain reads; MLflow's own `mlflow.source.git.*` tags name the code. */
export const TAG_PARENT = "modelchain.io/parent";
export const TAG_DIGEST = "modelchain.io/digest";
export const TAG_DATASET_DIGEST = "modelchain.io/digest";
export const TAG_GIT_COMMIT = "mlflow.source.git.commit";
export const TAG_GIT_REPO = "mlflow.source.git.repoURL";

export const ANNOTATION_VERSION = "modelchain.io/mlflow-model-version";
export const ANNOTATION_SOURCE = "modelchain.io/mlflow-source";
export const ANNOTATION_METRICS = "modelchain.io/mlflow-metrics";

export interface ImportFacts {
  namespace: string;
  version: RegisteredVersion;
  /** `models:/NAME/VERSION`, or the `runs:/ID/PATH` imported. */
  registryUri: string;
  run: Run | undefined;
  /** The store URI the files were hashed at (after following runs:/ and models:/). */
  storeUri: string;
  /** The store URI a Pod can be given (s3://, gs://), when there is one. */
  deliverableUri: string | undefined;
  artifact: HashedArtifact;
  parents: ReadonlyArray<{ name: string; version: string }>;
}

export interface Imported {
  modelVersion: ModelVersion;
  /** `field: what is missing and what follows`, one per field MLflow could not fill. */
  notes: string[];
}

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const COMMIT = /^[a-f0-9]{7,64}$/;

const shortRun = (id: string): string => (id.length > 8 ? `${id.slice(0, 8)}…` : id);

/** A dataset source's location: its url, uri or path, or the source JSON as MLflow kept it. */
function datasetUri(input: DatasetInput): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(input.source ?? "");
  } catch {
    parsed = undefined;
  }
  const fields: Map<string, unknown> = new Map(
    typeof parsed === "object" && parsed !== null ? Object.entries(parsed) : [],
  );
  const text = (k: string): string | undefined => {
    const v = fields.get(k);
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  if (input.sourceType === "hugging_face" && text("path") !== undefined) {
    const revision = text("revision");
    return `hf://datasets/${text("path") ?? ""}${revision === undefined ? "" : `@${revision}`}`;
  }
  return (
    text("url") ??
    text("uri") ??
    text("path") ??
    input.source ??
    `${input.sourceType ?? "unknown"}:${input.name}`
  );
}

function datasetsOf(run: Run, notes: string[]): Dataset[] {
  if (run.datasets.length === 0)
    notes.push(
      `spec.datasets: run ${shortRun(run.runId)} logged no dataset inputs: the ModelVersion names no training data`,
    );
  return run.datasets.map((input, i) => {
    const digest = input.tags[TAG_DATASET_DIGEST];
    if (digest !== undefined && SHA256.test(digest))
      return { name: input.name, uri: datasetUri(input), digest };
    const mlflowDigest =
      input.digest === undefined
        ? ""
        : ` (MLflow's digest ${JSON.stringify(input.digest)} is its own short hash of the data, not a SHA-256)`;
    const tagged =
      digest === undefined
        ? ""
        : ` (its ${TAG_DATASET_DIGEST} tag ${JSON.stringify(digest)} is not sha256:<64 hex>)`;
    notes.push(
      `spec.datasets[${i}].digest: run ${shortRun(run.runId)} logged no dataset digest for ${JSON.stringify(input.name)}${mlflowDigest}${tagged}; tag the dataset input ${TAG_DATASET_DIGEST}=sha256:<hex>: the policy's datasetsPinned check will fail`,
    );
    return { name: input.name, uri: datasetUri(input) };
  });
}

function frameworkOf(artifact: HashedArtifact, notes: string[]): string | undefined {
  const flavors = Object.entries(artifact.flavors ?? {}).filter(([name]) => name !== "python_function");
  if (flavors.length === 0) {
    notes.push("spec.training.framework: the artifact has no MLmodel file naming a flavor; left unset");
    return undefined;
  }
  return flavors.map(([name, version]) => (version === undefined ? name : `${name}-${version}`)).join("+");
}

function codeOf(run: Run, notes: string[]): Pick<Training, "codeCommit" | "codeRepository"> {
  const commit = run.tags[TAG_GIT_COMMIT];
  const repository = run.tags[TAG_GIT_REPO];
  const at = `run ${shortRun(run.runId)}`;
  if (commit === undefined)
    notes.push(`spec.training.codeCommit: ${at} has no ${TAG_GIT_COMMIT} tag; left unset`);
  else if (!COMMIT.test(commit))
    notes.push(
      `spec.training.codeCommit: ${at}'s ${TAG_GIT_COMMIT} ${JSON.stringify(commit)} is not a git commit; left unset`,
    );
  if (repository === undefined)
    notes.push(`spec.training.codeRepository: ${at} has no ${TAG_GIT_REPO} tag; left unset`);
  return {
    ...(commit !== undefined && COMMIT.test(commit) ? { codeCommit: commit } : {}),
    ...(repository === undefined ? {} : { codeRepository: repository }),
  };
}

function trainingOf(run: Run, artifact: HashedArtifact, notes: string[]): Training {
  const framework = frameworkOf(artifact, notes);
  const finished = run.status === "FINISHED" && run.endTime !== undefined;
  if (!finished)
    notes.push(
      `spec.training.finishedAt: run ${shortRun(run.runId)} is ${run.status ?? "of unknown status"}${run.status === "FAILED" || run.status === "KILLED" ? "" : ", not finished"}; left unset`,
    );
  return {
    runId: run.runId,
    ...codeOf(run, notes),
    ...(framework === undefined ? {} : { framework }),
    ...(Object.keys(run.params).length === 0 ? {} : { parameters: run.params }),
    ...(run.startTime === undefined ? {} : { startedAt: new Date(run.startTime).toISOString() }),
    ...(finished && run.endTime !== undefined ? { finishedAt: new Date(run.endTime).toISOString() } : {}),
  };
}

function artifactUriOf(facts: ImportFacts, notes: string[]): string {
  if (facts.deliverableUri !== undefined) return facts.deliverableUri;
  notes.push(
    `spec.artifact.uri: ${facts.registryUri}'s files are at ${facts.storeUri}, which no Pod can be given; the ModelVersion names ${facts.registryUri}: it verifies and is recorded, but a ModelDeployment of it is refused (ArtifactUriUnsupported) until the files are copied to an oci://, s3://, gs://, https://, hf:// or pvc:// location named with the same digest`,
  );
  return facts.registryUri;
}

function annotationsOf(facts: ImportFacts): Record<string, string> {
  const metrics = facts.run?.metrics ?? {};
  const sorted = Object.fromEntries(Object.entries(metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    [ANNOTATION_VERSION]: facts.registryUri,
    [ANNOTATION_SOURCE]: facts.storeUri,
    ...(Object.keys(sorted).length === 0 ? {} : { [ANNOTATION_METRICS]: JSON.stringify(sorted) }),
  };
}

export function importedModelVersion(facts: ImportFacts): Imported {
  const notes: string[] = [];
  const { version, run, artifact } = facts;
  if (run === undefined && version.runId === undefined)
    notes.push(
      `spec.training: ${facts.registryUri} names no source run: spec.training and spec.datasets left out`,
    );
  const datasets = run === undefined ? [] : datasetsOf(run, notes);
  const training = run === undefined ? undefined : trainingOf(run, artifact, notes);
  const format = artifact.flavors === undefined ? undefined : "mlflow-model";
  const modelVersion: ModelVersion = {
    apiVersion: API_VERSION,
    kind: "ModelVersion",
    metadata: {
      name: kubernetesName(version.name, version.version),
      namespace: facts.namespace,
      annotations: annotationsOf(facts),
    },
    spec: {
      model: version.name,
      version: version.version,
      artifact: {
        uri: artifactUriOf(facts, notes),
        digest: artifact.digest,
        ...(format === undefined ? {} : { format }),
        sizeBytes: artifact.sizeBytes,
      },
      ...(facts.parents.length === 0
        ? {}
        : { parents: facts.parents.map((p) => ({ name: kubernetesName(p.name, p.version) })) }),
      ...(datasets.length === 0 ? {} : { datasets }),
      ...(training === undefined ? {} : { training }),
    },
  };
  return { modelVersion, notes };
}
