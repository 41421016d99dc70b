// A ModelDeployment's conditions come from what is observed now, not from the last rollout pass.
import type { V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  availableCondition,
  notAdmittedConditions,
  rolloutConditions,
} from "../../src/controller/modeldeployment-status.ts";
import type { RolloutRecord } from "../../src/trail/index.ts";

/** As Kubernetes reports a Deployment: still `Available` at zero replicas (its minimum of zero is met). */
const deployment = (replicas: number, availableReplicas: number): V1Deployment => ({
  spec: { replicas, selector: {}, template: {} },
  status: {
    availableReplicas,
    conditions: [{ type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "ok" }],
  },
});

describe("ModelDeployment conditions from observed state", () => {
  it("is not Available when its Deployment is scaled to zero, although Kubernetes calls it available", () => {
    expect(availableCondition(deployment(0, 0))).toMatchObject({ status: "False", reason: "ScaledToZero" });
    expect(availableCondition(deployment(2, 0))).toMatchObject({
      status: "False",
      reason: "NoReplicaAvailable",
    });
    expect(availableCondition(deployment(2, 2))).toMatchObject({
      status: "True",
      reason: "MinimumReplicasAvailable",
    });
    expect(availableCondition(undefined)).toMatchObject({ status: "False", reason: "DeploymentMissing" });
  });

  it("recomputes Available, Drifted and Progressing for a deployment that is not admitted", () => {
    const admitted = {
      type: "Admitted",
      status: "False" as const,
      reason: "ModelRevoked",
      message: "revoked",
    };
    const conditions = notAdmittedConditions(admitted, deployment(0, 0), []);
    expect(conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Admitted", "False", "ModelRevoked"],
      ["Progressing", "False", "ModelRevoked"],
      ["Available", "False", "ScaledToZero"],
      ["Drifted", "False", "RunningAdmittedDigest"],
    ]);
  });

  it.each<[RolloutRecord["phase"], string, string]>([
    ["Started", "True", "ReplicaSetUpdated"],
    ["Completed", "True", "NewReplicaSetAvailable"],
    ["Failed", "False", "ProgressDeadlineExceeded"],
  ])("states Progressing of a %s rollout as a Deployment does: %s, %s", (phase, status, reason) => {
    const current: RolloutRecord = {
      revision: 2,
      templateHash: "h",
      images: {},
      configHash: "c",
      phase,
      recorded: true,
    };
    const progressing = rolloutConditions("lineage verified", current, deployment(2, 2), []).find(
      (c) => c.type === "Progressing",
    );
    expect(progressing).toMatchObject({ status, reason });
    expect(progressing?.message).toMatch(/^revision 2 \(h\)/);
  });
});
