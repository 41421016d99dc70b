import type { V1Pod } from "@kubernetes/client-node";
import { MODEL_VERSION_LABEL } from "../api/index.ts";

/**
 * Pods by namespace and model-version label, kept from informer events, so a reconcile looks
 * at the Pods of its model instead of scanning every Pod (O(1) buckets instead of O(Pods)).
 */
export class PodIndex {
  private readonly buckets = new Map<string, Map<string, V1Pod>>();
  /** namespace/name → the bucket a Pod is in, so an update or delete finds it at once. */
  private readonly where = new Map<string, string>();

  private static bucket(pod: V1Pod): string | undefined {
    const mv = pod.metadata?.labels?.[MODEL_VERSION_LABEL];
    return mv === undefined ? undefined : `${pod.metadata?.namespace ?? ""}/${mv}`;
  }

  put(pod: V1Pod): void {
    this.remove(pod);
    const key = PodIndex.bucket(pod);
    if (key === undefined) return;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, (bucket = new Map()));
    bucket.set(pod.metadata?.name ?? "", pod);
    this.where.set(PodIndex.id(pod), key);
  }

  remove(pod: V1Pod): void {
    const id = PodIndex.id(pod);
    const key = this.where.get(id);
    if (key === undefined) return;
    this.buckets.get(key)?.delete(pod.metadata?.name ?? "");
    this.where.delete(id);
  }

  private static id(pod: V1Pod): string {
    return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
  }

  /** Pods of a model version in a namespace that carry every label in `selector`. */
  select(namespace: string, modelVersion: string, selector: Readonly<Record<string, string>>): V1Pod[] {
    const bucket = this.buckets.get(`${namespace}/${modelVersion}`);
    if (bucket === undefined) return [];
    // Called on every reconcile over the model's Pods: one pass, no copy of the bucket.
    const wanted = Object.entries(selector);
    const out: V1Pod[] = [];
    for (const p of bucket.values()) {
      const labels = p.metadata?.labels;
      let matches = true;
      for (const [k, v] of wanted) if (labels?.[k] !== v) matches = false;
      if (matches) out.push(p);
    }
    return out;
  }
}
