// The conditions a ModelDeployment shows after a rollout pass (pure).
import type { V1Deployment } from "@kubernetes/client-node";
import type { Condition } from "../api/index.ts";
import type { RolloutRecord } from "../trail/index.ts";
import type { Drift } from "./drift.ts";

export type ConditionUpdate = Omit<Condition, "lastTransitionTime">;

function driftCondition(drift: readonly Drift[]): ConditionUpdate {
  if (drift.length === 0)
    return { type: "Drifted", status: "False", reason: "RunningAdmittedDigest", message: "" };
  const message = drift
    .map((d) => `pod ${d.pod} container ${d.container} runs ${d.running}, admitted ${d.admitted}`)
    .join("; ");
  return { type: "Drifted", status: "True", reason: "ImageDigestDrift", message };
}

export function rolloutConditions(
  admittedBecause: string,
  current: RolloutRecord,
  deployment: V1Deployment | undefined,
  drift: readonly Drift[],
): ConditionUpdate[] {
  const available = deployment?.status?.conditions?.find((c) => c.type === "Available");
  return [
    { type: "Admitted", status: "True", reason: "LineageVerified", message: admittedBecause },
    {
      type: "Progressing",
      status: current.phase === "Started" ? "True" : "False",
      reason: `Rollout${current.phase}`,
      message: `revision ${current.revision} (${current.templateHash})`,
    },
    {
      type: "Available",
      status: available?.status === "True" ? "True" : "False",
      reason: available?.reason ?? "DeploymentPending",
      message: available?.message ?? "",
    },
    {
      type: "Recorded",
      status: "True",
      reason: `Rollout${current.phase}Recorded`,
      message: `ledger entry ${current.ledgerIndex ?? "?"}`,
    },
    driftCondition(drift),
  ];
}
