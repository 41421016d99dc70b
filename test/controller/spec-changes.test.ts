import { describe, expect, it } from "vitest";
import type { KubernetesObject, ObjectCache } from "@kubernetes/client-node";
import { SpecChanges } from "../../src/controller/spec-changes.ts";

/** The informer's cache as a map by name (cluster-scoped objects). */
function cacheOf(objects: Map<string, KubernetesObject>): ObjectCache<KubernetesObject> {
  return { get: (name: string) => objects.get(name), list: () => [...objects.values()] };
}
const policy = (generation: number, resourceVersion: string): KubernetesObject => ({
  metadata: { name: "p", generation, resourceVersion },
});

describe("SpecChanges", () => {
  it("sees a new object, a new generation and a deletion, but not a status write", () => {
    const objects = new Map<string, KubernetesObject>();
    const changes = new SpecChanges(() => cacheOf(objects));
    objects.set("p", policy(1, "10"));
    expect(changes.changed(policy(1, "10"))).toBe(true);
    objects.set("p", policy(1, "11"));
    expect(changes.changed(policy(1, "11")), "status written: same generation").toBe(false);
    objects.set("p", policy(2, "12"));
    expect(changes.changed(policy(2, "12"))).toBe(true);
    objects.delete("p");
    expect(changes.changed(policy(2, "12")), "deleted").toBe(true);
    objects.set("p", policy(1, "20"));
    expect(changes.changed(policy(1, "20")), "created again").toBe(true);
  });
});
