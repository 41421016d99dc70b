// The published checkpoint mirrored to a ConfigMap, so that anyone who may read that ConfigMap
// (another team, a witness inside the cluster) gets the signed tree head without reaching the
// operator's port. Server-side apply by the operator's field manager: the ConfigMap is created
// on the first checkpoint and only its three keys are owned.
import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import type { Checkpoint } from "../ledger/index.ts";
import { FIELD_MANAGER } from "./kube.ts";

export class MirrorCheckpointFailed extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "MirrorCheckpointFailed";
  }
}

export function checkpointConfigMap(namespace: string, name: string, c: Checkpoint): KubernetesObject {
  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { namespace, name, labels: { "app.kubernetes.io/managed-by": "modelchain" } },
    data: { checkpoint: c.note ?? "", size: String(c.size), root: c.root },
  };
  return configMap;
}

export function configMapMirror(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
): { name: string; deliver(c: Checkpoint): Promise<void> } {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  return {
    name: `ConfigMap ${namespace}/${name}`,
    async deliver(c) {
      try {
        await objects.patch(
          checkpointConfigMap(namespace, name, c),
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        );
      } catch (e: unknown) {
        throw new MirrorCheckpointFailed(`checkpoint at size ${c.size} to ConfigMap ${namespace}/${name}`, e);
      }
    },
  };
}
