// Which events of an object change what other objects are judged by: a new generation (the
// spec changed) or its deletion, and not a write of its status. A trust policy's status changes
// no verdict, so writing it must not wake every ModelVersion and ModelDeployment again (with the
// ic ledger each of those passes costs canister calls).
import type { KubernetesObject, ObjectCache } from "@kubernetes/client-node";

export class SpecChanges {
  private readonly seen = new Map<string, number>();
  private readonly cache: () => ObjectCache<KubernetesObject>;

  /** `cache`: the informer's, which no longer holds an object when its deletion is handled. */
  constructor(cache: () => ObjectCache<KubernetesObject>) {
    this.cache = cache;
  }

  /** True for an object first seen, at a generation not seen before, or deleted. */
  changed(o: KubernetesObject): boolean {
    const name = o.metadata?.name ?? "";
    const namespace = o.metadata?.namespace;
    const key = `${namespace ?? ""}/${name}`;
    const generation = o.metadata?.generation;
    if (this.cache().get(name, namespace) === undefined || generation === undefined) {
      this.seen.delete(key);
      return true;
    }
    const same = this.seen.get(key) === generation;
    this.seen.set(key, generation);
    return !same;
  }
}
