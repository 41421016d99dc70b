// The deployment gauges, recomputed from observed ModelDeployment status (level, not events).
import type { KubernetesObject } from "@kubernetes/client-node";
import { driftedDeployments, revokedModelsInUse, verifiedDeployments } from "../metrics/index.ts";

interface Counts {
  verified: number;
  unverified: number;
  drifted: number;
  revoked: number;
}

type Conditions = Array<{ type?: string; status?: string; reason?: string }>;

/** Per-namespace counts from the ModelDeployments' conditions (pure). */
export function deploymentCounts(objects: readonly KubernetesObject[]): Map<string, Counts> {
  const counts = new Map<string, Counts>();
  for (const o of objects) {
    const namespace = o.metadata?.namespace ?? "";
    const c = counts.get(namespace) ?? { verified: 0, unverified: 0, drifted: 0, revoked: 0 };
    const conditions: Conditions = (o as { status?: { conditions?: Conditions } }).status?.conditions ?? [];
    const admitted = conditions.find((x) => x.type === "Admitted");
    if (admitted?.status === "True") c.verified++;
    else c.unverified++;
    if (conditions.some((x) => x.type === "Drifted" && x.status === "True")) c.drifted++;
    if (admitted?.reason === "ModelRevoked") c.revoked++;
    counts.set(namespace, c);
  }
  return counts;
}

export function publishDeploymentGauges(objects: readonly KubernetesObject[]): void {
  verifiedDeployments.reset();
  driftedDeployments.reset();
  revokedModelsInUse.reset();
  for (const [namespace, c] of deploymentCounts(objects)) {
    verifiedDeployments.set({ namespace, state: "verified" }, c.verified);
    verifiedDeployments.set({ namespace, state: "unverified" }, c.unverified);
    driftedDeployments.set({ namespace }, c.drifted);
    revokedModelsInUse.set({ namespace }, c.revoked);
  }
}
