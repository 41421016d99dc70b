// The operator's writes to the API server, one function per operation, each failing with an
// error named after it (usable as a metric label).
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/index.ts";

export const FIELD_MANAGER = "modelchain-operator";

/** The data of the named ConfigMaps (a missing one reads as empty: its absence is part of the config). */
export async function configMapData(
  core: CoreV1Api,
  namespace: string,
  names: readonly string[],
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of [...new Set(names)].sort()) {
    try {
      out[name] = (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
    } catch (e: unknown) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
      out[name] = {};
    }
  }
  return out;
}

class OperationFailed extends Error {
  constructor(name: string, what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = name;
  }
}
export class UpdateStatusFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("UpdateStatusFailed", what, cause);
  }
}
export class ApplyFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("ApplyFailed", what, cause);
  }
}
export class FinalizerFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("FinalizerFailed", what, cause);
  }
}

export interface KubeWrites {
  patchStatus(plural: string, namespace: string, name: string, status: unknown): Promise<void>;
  /** The status of a cluster-scoped object (ModelTrustPolicy). */
  patchClusterStatus(plural: string, name: string, status: unknown): Promise<void>;
  applyDeployment(deployment: V1Deployment): Promise<void>;
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  /** Merge-patches annotations onto a Deployment we do not own (metadata only; no rollout). */
  annotateDeployment(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** JSON Patch with a `test` of the current list first, so a concurrent change fails safely. */
  setFinalizers(
    plural: string,
    namespace: string,
    name: string,
    current: string[] | undefined,
    next: string[],
  ): Promise<void>;
}

export function kubeWrites(kc: KubeConfig): KubeWrites {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const apps = kc.makeApiClient(AppsV1Api);
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
  return {
    async patchStatus(plural, namespace, name, status) {
      try {
        await custom.patchNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, plural, namespace, name, body: { status } },
          merge,
        );
      } catch (e: unknown) {
        throw new UpdateStatusFailed(`status of ${plural} ${namespace}/${name}`, e);
      }
    },
    async patchClusterStatus(plural, name, status) {
      try {
        await custom.patchClusterCustomObjectStatus(
          { group: GROUP, version: VERSION, plural, name, body: { status } },
          merge,
        );
      } catch (e: unknown) {
        throw new UpdateStatusFailed(`status of ${plural} ${name}`, e);
      }
    },
    async applyDeployment(deployment) {
      try {
        await objects.patch(
          deployment as KubernetesObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
      } catch (e: unknown) {
        throw new ApplyFailed(`Deployment ${deployment.metadata?.namespace}/${deployment.metadata?.name}`, e);
      }
    },
    async scaleDeployment(namespace, name, replicas) {
      try {
        await apps.patchNamespacedDeploymentScale({ namespace, name, body: { spec: { replicas } } }, merge);
      } catch (e: unknown) {
        throw new ApplyFailed(`scale of Deployment ${namespace}/${name}`, e);
      }
    },
    async annotateDeployment(namespace, name, annotations) {
      try {
        await apps.patchNamespacedDeployment({ namespace, name, body: { metadata: { annotations } } }, merge);
      } catch (e: unknown) {
        throw new ApplyFailed(`annotations of Deployment ${namespace}/${name}`, e);
      }
    },
    async setFinalizers(plural, namespace, name, current, next) {
      const ops =
        current === undefined
          ? [{ op: "add", path: "/metadata/finalizers", value: next }]
          : [
              { op: "test", path: "/metadata/finalizers", value: current },
              { op: "replace", path: "/metadata/finalizers", value: next },
            ];
      try {
        await custom.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural, namespace, name, body: ops },
          jsonPatch,
        );
      } catch (e: unknown) {
        throw new FinalizerFailed(`finalizers of ${plural} ${namespace}/${name}`, e);
      }
    },
  };
}
