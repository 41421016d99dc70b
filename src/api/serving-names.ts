// Names in the serving Pod that belong to the operator's own Pod shaping (the artifact delivery
// and the ConfigMap mounts): a ModelDeployment's own volumes and mounts may not take them.
export const DEFAULT_MODEL_PATH = "/models";
/** The volume the model artifact is delivered in (an image volume, an emptyDir or the claim). */
export const MODEL_VOLUME = "model";
/** spec.serving.configMapRefs[].name `x` is the volume `config-x`, mounted at /etc/modelchain/x. */
export const CONFIG_VOLUME_PREFIX = "config-";
export const CONFIG_MOUNT_ROOT = "/etc/modelchain";
/** The verified per-file digests of the artifact, given to its init container (downward API). */
export const ARTIFACT_FILES_VOLUME = "artifact-files";
