// What kube-controller-manager and a kubelet would do for Deployments, for the demo and the
// benchmarks: Pods for the current template, running the image they name, and a finished
// rollout in the Deployment's status. Explicit and opt-in: tests decide when rollouts finish.
import { createHash } from "node:crypto";
import type { KubeObject, Store, WatchEvent } from "./store.ts";

const DEPLOYMENTS = "apps/v1/deployments";
const PODS = "/v1/pods";

function templateHash(template: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(template ?? {}))
    .digest("hex")
    .slice(0, 10);
}

function podsFor(store: Store, d: KubeObject, hash: string, now: string): void {
  const namespace = d.metadata.namespace;
  const selector: Record<string, string> = d["spec"]?.selector?.matchLabels ?? {};
  const owned = store
    .list(PODS, namespace)
    .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
  for (const old of owned)
    if (old.metadata.labels?.["pod-template-hash"] !== hash) store.put(PODS, old, "DELETED");
  const template = d["spec"]?.template ?? {};
  const replicas: number = d["spec"]?.replicas ?? 1;
  for (let i = 0; i < replicas; i++) {
    const name = `${d.metadata.name}-${hash}-${i}`;
    if (store.get(PODS, namespace, name) !== undefined) continue;
    const containers: Array<{ name: string; image: string }> = template.spec?.containers ?? [];
    store.put(
      PODS,
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace,
          uid: store.uidFor("Pod", namespace, name),
          labels: { ...(template.metadata?.labels ?? {}), "pod-template-hash": hash },
          // As the ReplicaSet controller does: a Pod carries its template's annotations.
          ...(template.metadata?.annotations === undefined
            ? {}
            : { annotations: template.metadata.annotations }),
          creationTimestamp: now,
        },
        spec: template.spec ?? {},
        status: {
          phase: "Running",
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
          containerStatuses: containers.map((c) => ({
            name: c.name,
            image: c.image,
            imageID: c.image,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          })),
        },
      },
      "ADDED",
    );
  }
}

function finish(store: Store, d: KubeObject, clock: () => Date): void {
  const now = clock().toISOString();
  const hash = templateHash(d["spec"]?.template);
  podsFor(store, d, hash, now);
  const replicas: number = d["spec"]?.replicas ?? 1;
  store.put(
    DEPLOYMENTS,
    {
      ...d,
      status: {
        observedGeneration: d.metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        conditions: [
          {
            type: "Available",
            status: "True",
            reason: "MinimumReplicasAvailable",
            message: "Deployment has minimum availability.",
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
          {
            type: "Progressing",
            status: "True",
            reason: "NewReplicaSetAvailable",
            message: `ReplicaSet "${d.metadata.name}-${hash}" has successfully progressed.`,
            lastUpdateTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    },
    "MODIFIED",
  );
}

/** Completes every Deployment rollout shortly after it changes; returns a function that stops it. */
export function simulateRollouts(store: Store, clock: () => Date = () => new Date()): () => void {
  const pending = new Set<string>();
  const settle = (e: WatchEvent) => {
    if (e.resource !== DEPLOYMENTS || e.type === "DELETED") return;
    const d = e.object;
    if (d["status"]?.observedGeneration === d.metadata.generation) return;
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    if (pending.has(key)) return;
    pending.add(key);
    setTimeout(() => {
      pending.delete(key);
      const latest = store.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name);
      if (latest !== undefined && latest["status"]?.observedGeneration !== latest.metadata.generation)
        finish(store, latest, clock);
    }, 50);
  };
  for (const d of store.list(DEPLOYMENTS))
    settle({ type: "MODIFIED", object: d, rv: 0, resource: DEPLOYMENTS });
  return store.subscribe(settle);
}
