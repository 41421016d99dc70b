// Reading the object `kubectl modelchain explain-denial KIND/NAME` names, as it is stored now.
import { ApiException, KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { describeKubeError } from "../../kube/index.ts";
import type { ManifestObject } from "../../webhook/source-dir.ts";
import { CheckFailedError } from "../output.ts";

/** The object as a one-document manifest, or none when the API server has no such object. */
export async function readObject(
  kc: KubeConfig,
  t: { apiVersion: string; kind: string; namespace: string; name: string },
): Promise<ManifestObject[]> {
  try {
    const object = await KubernetesObjectApi.makeApiClient(kc).read({
      apiVersion: t.apiVersion,
      kind: t.kind,
      metadata: { name: t.name, namespace: t.namespace },
    });
    const { status: _status, ...stored } = object as Record<string, unknown>;
    return [{ file: `${t.kind} ${t.namespace}/${t.name}`, doc: 0, object: stored }];
  } catch (e: unknown) {
    if (e instanceof ApiException && e.code === 404) return [];
    throw new CheckFailedError(`reading ${t.kind} ${t.namespace}/${t.name}: ${describeKubeError(e)}`, {
      cause: e,
    });
  }
}
