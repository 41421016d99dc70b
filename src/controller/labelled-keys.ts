// Labelled Deployments by namespace and model version, so a Pod or a ModelVersion change wakes
// only the workloads it concerns (no scan of all Deployments).
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { MODEL_VERSION_LABEL } from "../api/index.ts";

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

/** Labelled Deployments by namespace and model version, for waking them on Pod and model changes. */
export class KeysByModel {
  private readonly byModel = new Map<string, Set<string>>();
  private readonly modelOf = new Map<string, string>();

  put(d: V1Deployment): void {
    this.remove(d);
    const key = keyOf(d);
    const model = `${d.metadata?.namespace ?? ""}/${d.metadata?.labels?.[MODEL_VERSION_LABEL] ?? ""}`;
    let keys = this.byModel.get(model);
    if (keys === undefined) this.byModel.set(model, (keys = new Set()));
    keys.add(key);
    this.modelOf.set(key, model);
  }

  remove(d: V1Deployment): void {
    const key = keyOf(d);
    const model = this.modelOf.get(key);
    if (model !== undefined) this.byModel.get(model)?.delete(key);
    this.modelOf.delete(key);
  }

  keys(namespace: string, modelVersion: string): string[] {
    return [...(this.byModel.get(`${namespace}/${modelVersion}`) ?? [])];
  }
}
