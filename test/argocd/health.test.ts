// config/argocd/health.lua, the Argo CD health check of modelchain objects, run in a Lua VM on
// the statuses the operator writes (test/envtest/conventions.test.ts runs it on live objects).
import { describe, expect, it } from "vitest";
import { argoHealth, HEALTH_LUA } from "./health.ts";

const c = (type: string, status: string, reason: string, message = "") => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: "2026-01-01T00:00:00Z",
});
const md = (generation: number, observed: number | undefined, conditions: unknown[]) => ({
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelDeployment",
  metadata: { name: "m", namespace: "ml", generation },
  ...(observed === undefined ? {} : { status: { observedGeneration: observed, conditions } }),
});

describe("the Argo CD health check (config/argocd/health.lua)", () => {
  it.each([
    ["no status yet", md(1, undefined, []), "Progressing", "waiting for the modelchain operator"],
    [
      "a generation not yet observed",
      md(2, 1, [c("Ready", "True", "Serving")]),
      "Progressing",
      "generation 2 not yet observed",
    ],
    [
      "Ready",
      md(1, 1, [c("Ready", "True", "Serving", "lineage verified")]),
      "Healthy",
      "Serving: lineage verified",
    ],
    [
      "rolling out",
      md(1, 1, [
        c("Ready", "False", "ReplicaSetUpdated"),
        c("Reconciling", "True", "ReplicaSetUpdated", "Progressing: revision 2"),
      ]),
      "Progressing",
      "ReplicaSetUpdated: Progressing: revision 2",
    ],
    [
      "stalled",
      md(1, 1, [
        c("Ready", "False", "ModelRevoked"),
        c("Stalled", "True", "ModelRevoked", "Admitted: revoked"),
      ]),
      "Degraded",
      "ModelRevoked: Admitted: revoked",
    ],
    [
      "scaled to zero",
      md(1, 1, [c("Ready", "False", "ScaledToZero", "Available: 0 of 0")]),
      "Suspended",
      "ScaledToZero: Available: 0 of 0",
    ],
    ["not Ready without a kstatus condition", md(1, 1, [c("Ready", "False", "Odd")]), "Degraded", "Odd"],
  ])("%s: %s", (_what, obj, status, message) => {
    expect(argoHealth(HEALTH_LUA, obj)).toEqual({ status, message });
  });
});
