// What the CRD schema cannot say about a ModelDeployment's serving Pod, checked in code (pure):
// its own volumes and mounts stay off the operator's names and paths (the model artifact, the
// ConfigMaps), an image volume is pinned by digest, every mount names a volume, and the Service's
// targetPort is a port. The API server
// checks the names with CEL too; this is the same rule for callers that validate with ajv.
import {
  CONFIG_MOUNT_ROOT,
  CONFIG_VOLUME_PREFIX,
  DEFAULT_MODEL_PATH,
  MODEL_VOLUME,
  ARTIFACT_FILES_VOLUME,
} from "./serving-names.ts";
import { isPinnedByDigest } from "./image-reference.ts";
import type { ModelDeploymentSpec } from "./types.ts";
import type { FieldError } from "./validate.ts";

const reserved = (name: string): boolean =>
  name === MODEL_VOLUME || name === ARTIFACT_FILES_VOLUME || name.startsWith(CONFIG_VOLUME_PREFIX);
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Whether `path` is `root` or inside it (paths compared without a trailing slash). */
function within(path: string, root: string): boolean {
  const p = path.replace(/\/+$/, "") || "/";
  const r = root.replace(/\/+$/, "") || "/";
  return p === r || p.startsWith(r === "/" ? "/" : `${r}/`);
}

function volumeProblems(spec: ModelDeploymentSpec): FieldError[] {
  return (spec.podTemplate?.volumes ?? []).flatMap((v, i) => {
    if (reserved(v.name))
      return [
        {
          field: `spec.podTemplate.volumes[${i}].name`,
          message: `"${v.name}" is the operator's (volume "${MODEL_VOLUME}" delivers the model artifact, "${ARTIFACT_FILES_VOLUME}" its file list, "${CONFIG_VOLUME_PREFIX}<name>" the ConfigMaps); choose another name`,
        },
      ];
    // An image volume mounts an image's bytes into the server: pinned, as the serving image must be.
    const reference = v.image?.reference;
    if (reference !== undefined && !isPinnedByDigest(reference))
      return [
        {
          field: `spec.podTemplate.volumes[${i}].image.reference`,
          message: `${JSON.stringify(reference)} is not pinned by digest (name@sha256:<64 hex>)`,
        },
      ];
    return [];
  });
}

function mountProblems(spec: ModelDeploymentSpec): FieldError[] {
  const volumes = new Set((spec.podTemplate?.volumes ?? []).map((v) => v.name));
  const modelPath = spec.serving?.modelPath ?? DEFAULT_MODEL_PATH;
  return (spec.serving?.volumeMounts ?? []).flatMap((m, i) => {
    const at = `spec.serving.volumeMounts[${i}]`;
    if (reserved(m.name))
      return [
        {
          field: `${at}.name`,
          message: `"${m.name}" is the operator's volume; the model is mounted at spec.serving.modelPath (${modelPath})`,
        },
      ];
    if (!volumes.has(m.name))
      return [{ field: `${at}.name`, message: `no volume "${m.name}" in spec.podTemplate.volumes` }];
    if (within(m.mountPath, modelPath) || within(modelPath, m.mountPath))
      return [
        {
          field: `${at}.mountPath`,
          message: `${m.mountPath} overlaps the model's mount at ${modelPath} (spec.serving.modelPath)`,
        },
      ];
    if (within(m.mountPath, CONFIG_MOUNT_ROOT))
      return [
        { field: `${at}.mountPath`, message: `${CONFIG_MOUNT_ROOT} is where the ConfigMaps are mounted` },
      ];
    return [];
  });
}

function serviceProblems(spec: ModelDeploymentSpec): FieldError[] {
  const target = spec.service?.targetPort;
  if (target === undefined) return [];
  const ok =
    typeof target === "number"
      ? Number.isInteger(target) && target >= 1 && target <= 65535
      : PORT_NAME.test(target) && target.length <= 15;
  return ok
    ? []
    : [
        {
          field: "spec.service.targetPort",
          message: "must be a port number (1-65535) or a container port name",
        },
      ];
}

/** Problems with the serving Pod and Service a ModelDeployment asks for, each naming its field. */
export function servingProblems(spec: ModelDeploymentSpec): FieldError[] {
  return [...volumeProblems(spec), ...mountProblems(spec), ...serviceProblems(spec)];
}
