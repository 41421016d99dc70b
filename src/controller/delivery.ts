// What the operator refuses on its own, before any Deployment is written (pure): a serving image
// not pinned by digest (defence in depth: the webhook denies it too, but it may be absent), and
// an artifact the Pod cannot be given with its digest checked.
import { isPinnedByDigest, type ModelDeployment, type ModelVersion } from "../api/index.ts";
import type { FileDigest } from "../artifact/manifest.ts";
import { artifactPlan, type ArtifactPod } from "./artifact-pod.ts";
import type { ConditionUpdate } from "./modeldeployment-status.ts";

export type Delivery = { ok: true; pod: ArtifactPod } | { ok: false; refusal: ConditionUpdate };

export function delivery(
  md: ModelDeployment,
  mv: ModelVersion,
  artifactImage: string | undefined,
  files?: readonly FileDigest[],
): Delivery {
  if (!isPinnedByDigest(md.spec.image))
    return {
      ok: false,
      refusal: {
        type: "Admitted",
        status: "False",
        reason: "ImageNotPinned",
        message: `spec.image ${JSON.stringify(md.spec.image)} is not pinned by digest (name@sha256:<64 hex>)`,
      },
    };
  const plan = artifactPlan(md, mv.spec.artifact, artifactImage, files);
  if (!plan.ok)
    return {
      ok: false,
      refusal: { type: "Admitted", status: "False", reason: plan.reason, message: plan.message },
    };
  return { ok: true, pod: plan.pod };
}
