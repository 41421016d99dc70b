// The conditions a ModelDeployment shows after a rollout pass (pure).
import type { V1Deployment } from "@kubernetes/client-node";
import { wants, type ConditionUpdate, type Gate } from "../api/index.ts";
import type { RolloutRecord } from "../trail/index.ts";
import type { Drift } from "./drift.ts";

export type { ConditionUpdate } from "../api/index.ts";

/** The reason a Deployment's Progressing condition has once its new ReplicaSet is available. */
export const ROLLOUT_COMPLETE = "NewReplicaSetAvailable";

function driftCondition(drift: readonly Drift[]): ConditionUpdate {
  if (drift.length === 0)
    return { type: "Drifted", status: "False", reason: "RunningAdmittedDigest", message: "" };
  const message = drift
    .map((d) => `pod ${d.pod} container ${d.container} runs ${d.running}, admitted ${d.admitted}`)
    .join("; ");
  return { type: "Drifted", status: "True", reason: "ImageDigestDrift", message };
}

/**
 * Whether the model is being served, from the Deployment as observed: Kubernetes keeps a
 * Deployment scaled to zero `Available` (its minimum of zero is met), but nothing serves.
 */
export function availableCondition(deployment: V1Deployment | undefined): ConditionUpdate {
  if (deployment === undefined)
    return { type: "Available", status: "False", reason: "DeploymentMissing", message: "" };
  const wanted = deployment.spec?.replicas ?? 1;
  const ready = deployment.status?.availableReplicas ?? 0;
  if (wanted === 0 || ready === 0) {
    const reason = wanted === 0 ? "ScaledToZero" : "NoReplicaAvailable";
    return {
      type: "Available",
      status: "False",
      reason,
      message: `${ready} of ${wanted} replicas available`,
    };
  }
  const available = deployment.status?.conditions?.find((c) => c.type === "Available");
  return {
    type: "Available",
    status: available?.status === "True" ? "True" : "False",
    reason: available?.reason ?? "DeploymentPending",
    message: available?.message ?? "",
  };
}

/** A deployment of a model that is not (or no longer) admitted: what is observed, no rollout. */
export function notAdmittedConditions(
  admitted: ConditionUpdate,
  deployment: V1Deployment | undefined,
  drift: readonly Drift[],
): ConditionUpdate[] {
  return [
    admitted,
    {
      type: "Progressing",
      status: "False",
      reason: admitted.reason,
      message: "no rollout while not admitted",
    },
    availableCondition(deployment),
    driftCondition(drift),
  ];
}

/**
 * Progressing as a Deployment states it: True while the rollout goes on (ReplicaSetUpdated) and
 * still True once it completed (NewReplicaSetAvailable); False only when it failed
 * (ProgressDeadlineExceeded), which is when the deployment controller sets it False too.
 */
function progressingCondition(current: RolloutRecord): ConditionUpdate {
  const revision = `revision ${current.revision} (${current.templateHash})`;
  switch (current.phase) {
    case "Started":
      return {
        type: "Progressing",
        status: "True",
        reason: "ReplicaSetUpdated",
        message: `${revision} is rolling out`,
      };
    case "Completed":
      return {
        type: "Progressing",
        status: "True",
        reason: ROLLOUT_COMPLETE,
        message: `${revision} is available`,
      };
    case "Failed":
      return {
        type: "Progressing",
        status: "False",
        reason: "ProgressDeadlineExceeded",
        message: `${revision} did not progress within spec.progressDeadlineSeconds`,
      };
  }
}

/**
 * What a ModelDeployment needs to be Ready, in the order its reason is taken from: admitted, the
 * current revision rolled out, its artifact checked, serving, running the admitted digests, recorded.
 */
export const MODEL_DEPLOYMENT_GATES: readonly Gate[] = [
  wants("Admitted", "True"),
  {
    type: "Progressing",
    judge: (c) =>
      c === undefined || c.status === "Unknown"
        ? "Reconciling"
        : c.status === "False"
          ? "Stalled"
          : c.reason === ROLLOUT_COMPLETE
            ? "holds"
            : "Reconciling",
  },
  {
    type: "ArtifactVerified",
    judge: (c) => (c?.status === "True" ? "holds" : c?.status === "False" ? "Stalled" : "Reconciling"),
  },
  {
    // Scaled to zero on purpose: nothing serves, and nothing is left to do either.
    type: "Available",
    judge: (c) =>
      c?.status === "True" ? "holds" : c?.reason === "ScaledToZero" ? "NotReady" : "Reconciling",
  },
  wants("Drifted", "False"),
  wants("Recorded", "True", "Reconciling"),
];

export function rolloutConditions(
  admittedBecause: string,
  current: RolloutRecord,
  deployment: V1Deployment | undefined,
  drift: readonly Drift[],
): ConditionUpdate[] {
  return [
    { type: "Admitted", status: "True", reason: "LineageVerified", message: admittedBecause },
    progressingCondition(current),
    availableCondition(deployment),
    {
      type: "Recorded",
      status: "True",
      reason: `Rollout${current.phase}Recorded`,
      message: `ledger entry ${current.ledgerIndex ?? "?"}`,
    },
    driftCondition(drift),
  ];
}

/** API server paths in the owned Deployment → the ModelDeployment fields they come from. */
const FIELD_ORIGINS: Array<[string, string]> = [
  ["spec.template.spec.containers[0].", "spec.serving."],
  ["spec.template.spec.", "spec.podTemplate."],
];

function fieldOrigin(field: string): string {
  const origin = FIELD_ORIGINS.find(([from]) => field.startsWith(from));
  return origin === undefined ? field : origin[1] + field.slice(origin[0].length);
}

/**
 * The API server refused the Deployment this spec makes (a dry run): a verdict on the spec, shown
 * with the ModelDeployment's own field paths where they map (its volumes, mounts and env come
 * first in the Pod, so their indexes are the same).
 */
export function invalidPodTemplateCondition(
  causes: ReadonlyArray<{ field: string; message: string }>,
): ConditionUpdate {
  return {
    type: "Admitted",
    status: "False",
    reason: "InvalidPodTemplate",
    message: `the Deployment this spec makes is refused by the API server: ${causes
      .map((c) => `${fieldOrigin(c.field)}: ${c.message}`)
      .join("; ")}`,
  };
}
