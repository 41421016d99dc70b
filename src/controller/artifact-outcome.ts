// What the Pods of a rollout say about their artifact (pure): the artifact init container's
// exit and the termination message it wrote (`artifact fetch|verify --termination-message-path`),
// or, for an image volume, a started server (the kubelet mounts only what it pulled by digest).
import type { V1ContainerStateTerminated, V1Pod } from "@kubernetes/client-node";
import type { Artifact } from "../api/index.ts";
import { ARTIFACT_CONTAINER } from "./artifact-pod.ts";
import type { ConditionUpdate } from "./modeldeployment-status.ts";

export const TEMPLATE_HASH_ANNOTATION = "modelchain.io/template-hash";

export interface ArtifactFailure {
  pod: string;
  podUid: string;
  actual: string | null;
  file: string | null;
  message: string;
}

export interface ArtifactOutcomes {
  /** A Pod whose artifact was checked, and by whom. */
  verified?: { pod: string; verifiedBy: "init-container" | "kubelet" };
  failed: ArtifactFailure[];
}

function terminations(pod: V1Pod): V1ContainerStateTerminated[] {
  const status = pod.status?.initContainerStatuses?.find((c) => c.name === ARTIFACT_CONTAINER);
  return [status?.state?.terminated, status?.lastState?.terminated].filter((t) => t !== undefined);
}

/** The init container's JSON message; a message that is not ours still names the exit. */
function readMessage(t: V1ContainerStateTerminated): {
  actual: string | null;
  file: string | null;
  message: string;
} {
  try {
    const m: unknown = JSON.parse(t.message ?? "");
    if (typeof m === "object" && m !== null) {
      const field = (k: string): string | null =>
        k in m && typeof (m as Record<string, unknown>)[k] === "string"
          ? String((m as Record<string, unknown>)[k])
          : null;
      return {
        actual: field("actual"),
        file: field("file"),
        message: field("error") ?? `exit code ${t.exitCode}`,
      };
    }
  } catch {
    // not JSON: the logs' tail (FallbackToLogsOnError)
  }
  return { actual: null, file: null, message: (t.message ?? `exit code ${t.exitCode}`).slice(-1024) };
}

function serverStarted(pod: V1Pod): boolean {
  return (pod.status?.containerStatuses ?? []).some((c) => c.started === true || c.ready);
}

/** Outcomes among the Pods of the rollout with template hash `hash`. */
export function artifactOutcomes(
  pods: readonly V1Pod[],
  hash: string,
  byInitContainer: boolean,
): ArtifactOutcomes {
  const outcomes: ArtifactOutcomes = { failed: [] };
  for (const pod of pods) {
    if (pod.metadata?.annotations?.[TEMPLATE_HASH_ANNOTATION] !== hash) continue;
    const name = pod.metadata.name ?? "";
    if (!byInitContainer) {
      if (serverStarted(pod)) outcomes.verified ??= { pod: name, verifiedBy: "kubelet" };
      continue;
    }
    for (const t of terminations(pod)) {
      if (t.exitCode === 0) outcomes.verified ??= { pod: name, verifiedBy: "init-container" };
      else outcomes.failed.push({ pod: name, podUid: pod.metadata.uid ?? name, ...readMessage(t) });
    }
  }
  return outcomes;
}

/** The ModelDeployment's ArtifactVerified condition for these outcomes. */
export function artifactCondition(artifact: Artifact, outcomes: ArtifactOutcomes): ConditionUpdate {
  const failure = outcomes.failed[0];
  if (failure !== undefined)
    return {
      type: "ArtifactVerified",
      status: "False",
      reason: failure.actual === null ? "CheckFailed" : "DigestMismatch",
      message: `pod ${failure.pod}: ${failure.message}`,
    };
  if (outcomes.verified !== undefined)
    return {
      type: "ArtifactVerified",
      status: "True",
      reason: outcomes.verified.verifiedBy === "kubelet" ? "PulledByDigest" : "DigestMatched",
      message: `${artifact.uri} has ${artifact.digest} (pod ${outcomes.verified.pod})`,
    };
  return {
    type: "ArtifactVerified",
    status: "Unknown",
    reason: "Pending",
    message: "no Pod of this rollout has checked its artifact yet",
  };
}
