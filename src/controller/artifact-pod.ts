// How the serving Pod gets the ModelVersion's artifact, checked where the bytes arrive (pure):
// - oci://  an image volume pinned by digest: the kubelet pulls by digest and refuses other content;
// - s3, gs, https, hf  an init container (`modelchain artifact fetch`) fills an emptyDir, in place
//   only when the digest matches;
// - pvc://  the claim read-only, hashed by an init container (`modelchain artifact verify`);
// - models:/, runs:/  (MLflow) not delivered: the operator does not talk to MLflow.
// The model is mounted at one path (spec.serving.modelPath), also given to the server as MODEL_PATH.
// When a verified OMS bundle lists the artifact's files, the init container gets that list too
// (a Pod-template annotation, read through the downward API), so a mismatch names the first file
// that differs; the list must add up to the signed digest, so an edited annotation cannot pass.
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { FileDigest } from "../artifact/manifest.ts";
import {
  DEFAULT_MODEL_PATH,
  isPinnedByDigest,
  MODEL_VOLUME,
  ARTIFACT_FILES_VOLUME,
  parseArtifactUri,
  type Artifact,
  type ArtifactLocation,
  type ModelDeployment,
} from "../api/index.ts";

/** The init container that fetches or verifies the artifact; the operator reads its status. */
export const ARTIFACT_CONTAINER = "artifact";
export const TERMINATION_LOG = "/dev/termination-log";
/** Where the init container sees the model volume; the fetch lands in its `model` folder. */
const WORK = "/artifact";
const FETCHED = "model";
/** The Pod-template annotation holding the verified per-file digests, and its volume. */
export const ARTIFACT_FILES_ANNOTATION = "modelchain.io/artifact-files";
const FILES_DIR = "/artifact-files";
const FILES_NAME = "files.json";
/**
 * Above this the list is left out (a Pod's annotations may total 256 KiB): the check still
 * covers every byte, a mismatch then names the two digests only. About 1,500 files.
 */
export const MAX_FILES_ANNOTATION_BYTES = 128 * 1024;

export interface ArtifactPod {
  volume: V1Volume;
  /** The server container's mount of the model. */
  mount: V1VolumeMount;
  env: V1EnvVar;
  initContainers: V1Container[];
  /** The per-file list's downward-API volume and its Pod-template annotation, when given. */
  filesVolume?: V1Volume;
  templateAnnotations?: Record<string, string>;
  /** Why a verified per-file list was not given to the init container. */
  filesOmitted?: string;
}

export type ArtifactPlan = { ok: true; pod: ArtifactPod } | { ok: false; reason: string; message: string };

/**
 * The init container's Node flags, each for its peak RSS (bench/artifact-fetch.ts, 2 GiB over
 * HTTPS): in NODE_OPTIONS, 1 MiB young-generation semi-spaces (the garbage of a streamed object
 * is collected sooner) and one V8 worker thread (a process that streams bytes through native
 * code has little to collect in parallel); it is explicit env, so envFrom cannot replace it.
 */
export const ARTIFACT_NODE_OPTIONS = "--max-semi-space-size=1 --v8-pool-size=1";

/**
 * V8's optimising compilers, TurboFan and Maglev, off: the bytes are decrypted, hashed and
 * written by native code, and the compilers only add their code pages and compile zones
 * (Sparkplug's baseline code still runs the JavaScript around the native calls). The garbage
 * collector on the main thread alone (--single-threaded-gc): about 1 MiB less for the same CPU
 * time. Node refuses these in NODE_OPTIONS, and set at run time, once V8 has started (cli/bin.ts
 * does, for the artifact commands run by hand), the compiler flags leave 2 MiB more resident (65
 * against 63 MiB on a 1 GiB fetch). So the init container runs node with them on its command line.
 */
export const ARTIFACT_NODE_FLAGS: readonly string[] = ["--no-opt", "--no-maglev", "--single-threaded-gc"];

/** The CLI's entry point in the modelchain image (the Dockerfile's ENTRYPOINT runs it). */
export const IMAGE_CLI = "/app/dist/cli/bin.js";

function initContainer(image: string, args: string[], mount: V1VolumeMount, secret?: string): V1Container {
  return {
    name: ARTIFACT_CONTAINER,
    image,
    command: ["node", ...ARTIFACT_NODE_FLAGS, IMAGE_CLI],
    args: [...args, "--termination-message-path", TERMINATION_LOG],
    env: [{ name: "NODE_OPTIONS", value: ARTIFACT_NODE_OPTIONS }],
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

/** The init container also checks each file against `files` (the verified bundle's list). */
function withFiles(pod: ArtifactPod, files: readonly FileDigest[]): ArtifactPod {
  const [init] = pod.initContainers;
  if (init === undefined) return pod;
  const text = JSON.stringify({ files: files.map((f) => ({ path: f.path, sha256: f.sha256 })) });
  if (Buffer.byteLength(text) > MAX_FILES_ANNOTATION_BYTES)
    return {
      ...pod,
      filesOmitted: `the signed list of ${files.length} files is ${Buffer.byteLength(text)} bytes, over the ${MAX_FILES_ANNOTATION_BYTES} a Pod annotation may take; a mismatch will name the digests only`,
    };
  return {
    ...pod,
    initContainers: [
      {
        ...init,
        args: [...(init.args ?? []), "--manifest", `${FILES_DIR}/${FILES_NAME}`],
        volumeMounts: [
          ...(init.volumeMounts ?? []),
          { name: ARTIFACT_FILES_VOLUME, mountPath: FILES_DIR, readOnly: true },
        ],
      },
    ],
    filesVolume: {
      name: ARTIFACT_FILES_VOLUME,
      downwardAPI: {
        items: [
          {
            path: FILES_NAME,
            fieldRef: { fieldPath: `metadata.annotations['${ARTIFACT_FILES_ANNOTATION}']` },
          },
        ],
      },
    },
    templateAnnotations: { [ARTIFACT_FILES_ANNOTATION]: text },
  };
}

/**
 * The Pod parts that deliver `artifact`, or why it cannot be delivered (then nothing is written);
 * `files`, a verified signature's per-file digests, make the init container name a differing file.
 */
export function artifactPlan(
  md: ModelDeployment,
  artifact: Artifact,
  fetcherImage: string | undefined,
  files?: readonly FileDigest[],
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
  if (typeof pod === "string") return { ok: false, reason: "ArtifactUriUnsupported", message: pod };
  return { ok: true, pod: files === undefined || files.length === 0 ? pod : withFiles(pod, files) };
}

export { imageVolumeProblems } from "../api/image-volumes.ts";
export { ARTIFACT_FILES_VOLUME };
