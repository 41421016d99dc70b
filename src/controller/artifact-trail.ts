// Records what the Pods of the current rollout found about their artifact: ArtifactVerified
// once per rollout and digest, ArtifactVerificationFailed once per Pod and digest; each a
// ledger entry and an Event, counted by outcome. Returns the ModelDeployment's condition.
import type { V1Pod } from "@kubernetes/client-node";
import type { Artifact, ModelDeployment } from "../api/index.ts";
import { artifactVerifications } from "../metrics/index.ts";
import { objectId, recording, type RolloutRecord } from "../trail/index.ts";
import { artifactCondition, artifactOutcomes } from "./artifact-outcome.ts";
import type { ConditionUpdate } from "./modeldeployment-status.ts";
import type { EventRecorder } from "./recorder.ts";

export interface ArtifactObservation {
  artifact: Artifact;
  rollout: Pick<RolloutRecord, "revision" | "templateHash">;
  pods: readonly V1Pod[];
  /** Whether an init container checks the artifact (otherwise the kubelet's image volume). */
  byInitContainer: boolean;
}

export async function recordArtifactOutcomes(
  recorder: EventRecorder,
  md: ModelDeployment,
  observed: ArtifactObservation,
): Promise<ConditionUpdate> {
  const { artifact, rollout, pods, byInitContainer } = observed;
  const outcomes = artifactOutcomes(pods, rollout.templateHash, byInitContainer);
  const workload = objectId(md);
  const base = { revision: rollout.revision, uri: artifact.uri };
  if (outcomes.verified !== undefined) {
    const { pod, verifiedBy } = outcomes.verified;
    const receipt = await recorder.record(
      md,
      recording(
        "ArtifactVerified",
        { workload, revision: rollout.revision, templateHash: rollout.templateHash, digest: artifact.digest },
        { ...base, digest: artifact.digest, pod, verifiedBy },
        `pod ${pod}: ${artifact.uri} has the signed digest ${artifact.digest} (checked by the ${verifiedBy})`,
      ),
    );
    if (!receipt.duplicate) artifactVerifications.inc({ outcome: "verified" });
  }
  for (const f of outcomes.failed) {
    const receipt = await recorder.record(
      md,
      recording(
        "ArtifactVerificationFailed",
        { podUid: f.podUid, expected: artifact.digest },
        {
          ...base,
          expected: artifact.digest,
          actual: f.actual,
          file: f.file,
          pod: f.pod,
          message: f.message,
        },
        `pod ${f.pod}: artifact check failed, expected ${artifact.digest}, got ${f.actual ?? "no complete artifact"}${f.file === null ? "" : ` (first differing file ${f.file})`}`,
      ),
    );
    if (!receipt.duplicate) artifactVerifications.inc({ outcome: "failed" });
  }
  return artifactCondition(artifact, outcomes);
}
