// The serving Pod of a ModelDeployment (pure): the server container with the model mounted, the
// artifact's init container, the ConfigMap mounts, and what the ModelDeployment asks for besides.
// The user's volumes, mounts and env come first, so a field path the API server reports about
// them (spec.template.spec.volumes[0]) is the same index in the ModelDeployment.
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { CONFIG_MOUNT_ROOT, CONFIG_VOLUME_PREFIX, type ModelDeployment } from "../api/index.ts";
import type { ArtifactPod } from "./artifact-pod.ts";
import { SERVING_CONTAINER } from "./rollout-stores.ts";

/** The server container's port (spec.serving.port), by the name the Service targets. */
export const SERVER_PORT_NAME = "http";

/** `{key: value}` for each key whose value is set, so an unset field is absent, not undefined. */
export function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function serverContainer(md: ModelDeployment, artifact: ArtifactPod): V1Container {
  const serving = md.spec.serving ?? {};
  const configMounts = (serving.configMapRefs ?? []).map((ref) => ({
    name: `${CONFIG_VOLUME_PREFIX}${ref.name}`,
    mountPath: `${CONFIG_MOUNT_ROOT}/${ref.name}`,
    readOnly: true,
  }));
  return {
    name: SERVING_CONTAINER,
    image: md.spec.image,
    args: serving.args ?? [],
    env: [...(serving.env ?? []).filter((e) => e.name !== artifact.env.name), artifact.env],
    ...defined({ resources: serving.resources }),
    ...(serving.port === undefined
      ? {}
      : { ports: [{ name: SERVER_PORT_NAME, containerPort: serving.port }] }),
    volumeMounts: [...(serving.volumeMounts ?? []), ...configMounts, artifact.mount],
    ...defined({
      livenessProbe: serving.livenessProbe,
      readinessProbe: serving.readinessProbe,
      startupProbe: serving.startupProbe,
      securityContext: serving.securityContext,
    }),
  };
}

export function podSpec(md: ModelDeployment, artifact: ArtifactPod): V1PodSpec {
  const overrides = md.spec.podTemplate ?? {};
  const configVolumes = (md.spec.serving?.configMapRefs ?? []).map((ref) => ({
    name: `${CONFIG_VOLUME_PREFIX}${ref.name}`,
    configMap: { name: ref.name },
  }));
  return {
    containers: [serverContainer(md, artifact)],
    ...(artifact.initContainers.length === 0 ? {} : { initContainers: artifact.initContainers }),
    volumes: [
      ...(overrides.volumes ?? []),
      ...configVolumes,
      artifact.volume,
      ...(artifact.filesVolume === undefined ? [] : [artifact.filesVolume]),
    ],
    ...defined({
      nodeSelector: overrides.nodeSelector,
      serviceAccountName: overrides.serviceAccountName,
      priorityClassName: overrides.priorityClassName,
      tolerations: overrides.tolerations,
      affinity: overrides.affinity,
      topologySpreadConstraints: overrides.topologySpreadConstraints,
      runtimeClassName: overrides.runtimeClassName,
      securityContext: overrides.securityContext,
    }),
  };
}
