// How the serving Pod gets the ModelVersion's artifact, checked where the bytes arrive (pure):
// - oci://  an image volume pinned by digest: the kubelet pulls by digest and refuses other content;
// - s3, gs, https, hf  an init container (`modelchain artifact fetch`) fills an emptyDir, in place
//   only when the digest matches;
// - pvc://  the claim read-only, hashed by an init container (`modelchain artifact verify`);
// - models:/, runs:/  (MLflow) not delivered: the operator does not talk to MLflow.
// The model is mounted at one path (spec.serving.modelPath), also given to the server as MODEL_PATH.
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import {
  isPinnedByDigest,
  parseArtifactUri,
  type Artifact,
  type ArtifactLocation,
  type ModelDeployment,
} from "../api/index.ts";

export const DEFAULT_MODEL_PATH = "/models";
export const MODEL_VOLUME = "model";
/** The init container that fetches or verifies the artifact; the operator reads its status. */
export const ARTIFACT_CONTAINER = "artifact";
export const TERMINATION_LOG = "/dev/termination-log";
/** Where the init container sees the model volume; the fetch lands in its `model` folder. */
const WORK = "/artifact";
const FETCHED = "model";

export interface ArtifactPod {
  volume: V1Volume;
  /** The server container's mount of the model. */
  mount: V1VolumeMount;
  env: V1EnvVar;
  initContainers: V1Container[];
}

export type ArtifactPlan = { ok: true; pod: ArtifactPod } | { ok: false; reason: string; message: string };

function initContainer(image: string, args: string[], mount: V1VolumeMount, secret?: string): V1Container {
  return {
    name: ARTIFACT_CONTAINER,
    image,
    args: [...args, "--termination-message-path", TERMINATION_LOG],
    volumeMounts: [mount],
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(secret === undefined ? {} : { envFrom: [{ secretRef: { name: secret } }] }),
  };
}

function imageVolume(where: { repository: string }, artifact: Artifact): V1Volume | string {
  const reference = `${where.repository}@${artifact.digest}`;
  if (!isPinnedByDigest(reference))
    return `oci:// artifact ${JSON.stringify(reference)} is not an image reference`;
  return { name: MODEL_VOLUME, image: { reference, pullPolicy: "IfNotPresent" } };
}

function shape(
  where: ArtifactLocation,
  artifact: Artifact,
  modelPath: string,
  fetcher: string,
  secret: string | undefined,
): ArtifactPod | string {
  const env = { name: "MODEL_PATH", value: modelPath };
  if (where.scheme === "oci") {
    const volume = imageVolume(where, artifact);
    if (typeof volume === "string") return volume;
    return {
      volume,
      mount: { name: MODEL_VOLUME, mountPath: modelPath, readOnly: true },
      env,
      initContainers: [],
    };
  }
  if (where.scheme === "pvc") {
    const path = where.path === "" ? WORK : `${WORK}/${where.path}`;
    const args = ["artifact", "verify", "--path", path, "--digest", artifact.digest];
    return {
      volume: { name: MODEL_VOLUME, persistentVolumeClaim: { claimName: where.claim, readOnly: true } },
      mount: {
        name: MODEL_VOLUME,
        mountPath: modelPath,
        readOnly: true,
        ...(where.path === "" ? {} : { subPath: where.path }),
      },
      env,
      initContainers: [initContainer(fetcher, args, { name: MODEL_VOLUME, mountPath: WORK, readOnly: true })],
    };
  }
  const args = [
    "artifact",
    "fetch",
    "--uri",
    artifact.uri,
    "--digest",
    artifact.digest,
    "--dest",
    `${WORK}/${FETCHED}`,
  ];
  return {
    volume: { name: MODEL_VOLUME, emptyDir: {} },
    // The fetch renames its temporary folder to `model` only after the digest matched, so the
    // server mounts that folder and never sees a partial download.
    mount: { name: MODEL_VOLUME, mountPath: modelPath, readOnly: true, subPath: FETCHED },
    env,
    initContainers: [initContainer(fetcher, args, { name: MODEL_VOLUME, mountPath: WORK }, secret)],
  };
}

/**
 * The operator does not talk to MLflow (no tracking URI, no MLflow credentials in the cluster): a
 * models:/ or runs:/ ModelVersion verifies and is recorded, but its bytes reach no Pod.
 */
function mlflowUndeliverable(uri: string): string {
  return `${uri} names an MLflow registry entry, which the operator does not fetch: copy the artifact to an oci://, s3://, gs://, https://, hf:// or pvc:// location (\`modelchain import mlflow\` writes the store's URI when MLflow keeps it in S3 or GCS) and name that`;
}

/** The Pod parts that deliver `artifact`, or why it cannot be delivered (then nothing is written). */
export function artifactPlan(
  md: ModelDeployment,
  artifact: Artifact,
  fetcherImage: string | undefined,
): ArtifactPlan {
  let where: ArtifactLocation;
  try {
    where = parseArtifactUri(artifact.uri);
  } catch (e: unknown) {
    return {
      ok: false,
      reason: "ArtifactUriUnsupported",
      message: e instanceof Error ? e.message : String(e),
    };
  }
  if (where.scheme === "models" || where.scheme === "runs")
    return { ok: false, reason: "ArtifactUriUnsupported", message: mlflowUndeliverable(artifact.uri) };
  if (where.scheme !== "oci" && (fetcherImage === undefined || !isPinnedByDigest(fetcherImage)))
    return {
      ok: false,
      reason: "ArtifactFetcherNotPinned",
      message: `${where.scheme}:// artifacts are fetched by an init container running the modelchain image; the operator's --artifact-image ${fetcherImage === undefined ? "is not set" : `${JSON.stringify(fetcherImage)} is not pinned by digest`}`,
    };
  const modelPath = md.spec.serving?.modelPath ?? DEFAULT_MODEL_PATH;
  const pod = shape(where, artifact, modelPath, fetcherImage ?? "", md.spec.artifact?.credentialsSecret);
  return typeof pod === "string"
    ? { ok: false, reason: "ArtifactUriUnsupported", message: pod }
    : { ok: true, pod };
}

/** `registry/repo[:tag]@sha256:…` → `registry/repo` (a port's colon stays). */
function repositoryOf(reference: string): string {
  const name = reference.split("@")[0] ?? "";
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > slash ? name.slice(0, colon) : name;
}

/**
 * A Deployment we do not own that mounts image volumes, serving an oci:// artifact: every image
 * volume not pinned by digest, or naming the artifact's repository at another digest, is a
 * problem (the kubelet would mount bytes the ModelVersion did not sign).
 */
export function imageVolumeProblems(volumes: readonly V1Volume[], artifact: Artifact): string[] {
  let where: ArtifactLocation;
  try {
    where = parseArtifactUri(artifact.uri);
  } catch {
    return [];
  }
  if (where.scheme !== "oci") return [];
  const repository = repositoryOf(where.repository);
  return volumes.flatMap((v) => {
    const reference = v.image?.reference;
    if (reference === undefined) return [];
    if (!isPinnedByDigest(reference)) return [`image volume ${v.name}: ${reference} is not pinned by digest`];
    if (repositoryOf(reference) === repository && !reference.endsWith(`@${artifact.digest}`))
      return [
        `image volume ${v.name}: ${reference} is not the ModelVersion's artifact digest ${artifact.digest}`,
      ];
    return [];
  });
}
