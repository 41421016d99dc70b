// The inference Deployment a ModelDeployment owns, computed from observed state (pure).
import type { V1Deployment, V1PodSpec } from "@kubernetes/client-node";
import type { ArtifactPod } from "./artifact-pod.ts";
import {
  ANNOTATIONS,
  API_VERSION,
  canonicalDigest,
  MODEL_VERSION_LABEL,
  type ModelDeployment,
} from "../api/index.ts";
import { redactData, redactDeep } from "../trail/index.ts";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "modelchain" } as const;
export const DEPLOYMENT_LABEL = "modelchain.io/model-deployment";

export interface ServingConfig {
  args: string[];
  env: Array<{ name: string; value?: string }>;
  resources: unknown;
  port: number | null;
  configMaps: Record<string, Record<string, string>>;
  modelPath?: string;
  credentialsSecret?: string;
}

/** Fields added after the first release are hashed only when set, so existing hashes stay. */
export function servingConfig(
  md: ModelDeployment,
  configMaps: Record<string, Record<string, string>>,
): ServingConfig {
  const serving = md.spec.serving ?? {};
  return {
    args: serving.args ?? [],
    env: serving.env ?? [],
    resources: serving.resources ?? {},
    port: serving.port ?? null,
    configMaps,
    ...(serving.modelPath === undefined ? {} : { modelPath: serving.modelPath }),
    ...(md.spec.artifact?.credentialsSecret === undefined
      ? {}
      : { credentialsSecret: md.spec.artifact.credentialsSecret }),
  };
}

/** The config hash covers the serving config and the content of every referenced ConfigMap. */
export function configHash(config: ServingConfig): string {
  return canonicalDigest(config);
}

/**
 * The serving config as the ledger keeps it: env values and ConfigMap data as digests, so that
 * a later ConfigChanged can name the key that changed without recording any value.
 */
export function redactedConfig<C extends { configMaps: Record<string, Record<string, string>> }>(
  config: C,
): Record<string, unknown> {
  const { configMaps, ...rest } = config;
  return { ...(redactDeep(rest) as Record<string, unknown>), configMaps: redactData(configMaps) };
}

/**
 * What a rollout is: the image, the config and the exact model spec it serves; and the image of
 * the init container that fetches or verifies the artifact, where there is one.
 */
export function templateHash(
  image: string,
  config: string,
  modelSpecDigest: string,
  artifactImage?: string,
): string {
  return canonicalDigest({
    image,
    config,
    modelSpecDigest,
    ...(artifactImage === undefined ? {} : { artifactImage }),
  }).slice("sha256:".length, "sha256:".length + 16);
}

export interface DeploymentInputs {
  md: ModelDeployment;
  modelSpecDigest: string;
  configHash: string;
  templateHash: string;
  ledgerIndex: number;
  artifact: ArtifactPod;
}

export function desiredDeployment(inputs: DeploymentInputs): V1Deployment {
  const { md } = inputs;
  const name = md.metadata.name;
  const namespace = md.metadata.namespace ?? "default";
  const selector = { [DEPLOYMENT_LABEL]: name };
  const overrides = md.spec.podTemplate ?? {};
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      labels: { ...MANAGED_BY, [MODEL_VERSION_LABEL]: md.spec.modelVersion, ...selector },
      annotations: {
        [ANNOTATIONS.modelVersion]: md.spec.modelVersion,
        [ANNOTATIONS.specDigest]: inputs.modelSpecDigest,
        [ANNOTATIONS.ledgerIndex]: String(inputs.ledgerIndex),
        [ANNOTATIONS.configHash]: inputs.configHash,
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: "ModelDeployment",
          name,
          uid: md.metadata.uid ?? "",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: md.spec.replicas ?? 1,
      progressDeadlineSeconds: md.spec.progressDeadlineSeconds ?? 600,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: { ...(overrides.labels ?? {}), ...selector, [MODEL_VERSION_LABEL]: md.spec.modelVersion },
          annotations: {
            ...(overrides.annotations ?? {}),
            ...(inputs.artifact.templateAnnotations ?? {}),
            "modelchain.io/template-hash": inputs.templateHash,
          },
        },
        spec: podSpec(inputs),
      },
    },
  };
}

/** The Pod: the server container with the model mounted, the artifact's init container, volumes. */
function podSpec(inputs: DeploymentInputs): V1PodSpec {
  const { md, artifact } = inputs;
  const serving = md.spec.serving ?? {};
  const overrides = md.spec.podTemplate ?? {};
  const configVolumes = (serving.configMapRefs ?? []).map((ref) => ({
    name: `config-${ref.name}`,
    configMap: { name: ref.name },
  }));
  return {
    containers: [
      {
        name: "server",
        image: md.spec.image,
        args: serving.args ?? [],
        env: [...(serving.env ?? []).filter((e) => e.name !== artifact.env.name), artifact.env],
        ...(serving.resources === undefined ? {} : { resources: serving.resources }),
        ...(serving.port === undefined ? {} : { ports: [{ name: "http", containerPort: serving.port }] }),
        volumeMounts: [
          ...configVolumes.map((v) => ({
            name: v.name,
            mountPath: `/etc/modelchain/${v.name.slice("config-".length)}`,
            readOnly: true,
          })),
          artifact.mount,
        ],
      },
    ],
    ...(artifact.initContainers.length === 0 ? {} : { initContainers: artifact.initContainers }),
    volumes: [
      ...configVolumes,
      artifact.volume,
      ...(artifact.filesVolume === undefined ? [] : [artifact.filesVolume]),
    ],
    ...(overrides.nodeSelector === undefined ? {} : { nodeSelector: overrides.nodeSelector }),
    ...(overrides.serviceAccountName === undefined
      ? {}
      : { serviceAccountName: overrides.serviceAccountName }),
    ...(overrides.priorityClassName === undefined ? {} : { priorityClassName: overrides.priorityClassName }),
  };
}

export type RolloutOutcome = "progressing" | "completed" | "failed";

/**
 * Reads a Deployment's status as the rollout of `hash` (deployment controller semantics);
 * without a hash, as the rollout of whatever template it has now (labelled Deployments).
 */
export function rolloutOutcome(deployment: V1Deployment | undefined, hash?: string): RolloutOutcome {
  if (deployment === undefined || !observesTemplate(deployment, hash)) return "progressing";
  const status = deployment.status ?? {};
  const progressing = status.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") return "failed";
  const want = deployment.spec?.replicas ?? 1;
  const done =
    (status.updatedReplicas ?? 0) >= want &&
    (status.availableReplicas ?? 0) >= want &&
    (status.replicas ?? 0) === want;
  return done ? "completed" : "progressing";
}

/** Whether the Deployment's status speaks of its current template (and of `hash`, when given). */
function observesTemplate(deployment: V1Deployment, hash: string | undefined): boolean {
  const annotated = deployment.spec?.template?.metadata?.annotations?.["modelchain.io/template-hash"];
  if (hash !== undefined && annotated !== hash) return false;
  return (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
}
