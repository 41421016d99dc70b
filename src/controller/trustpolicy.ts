// ModelTrustPolicy reconciler: records each artifact digest the policy revokes as
// ArtifactRevoked, once. The entry is the fact every ModelVersion with that digest is judged
// by, in every namespace and every cluster following the ledger; taking the digest out of the
// policy again lifts nothing.
import {
  describeErrors,
  GROUP,
  MODEL_TRUST_POLICY,
  policyMode,
  setCondition,
  VERSION,
  validateModelTrustPolicy,
  wants,
  withSummary,
  type ConditionUpdate,
  type Gate,
  type ModelTrustPolicy,
  type ModelTrustPolicyStatus,
} from "../api/index.ts";
import { recording } from "../trail/index.ts";
import type { KubeWrites } from "./kube.ts";
import type { LineageContext } from "./lineage-context.ts";
import { sameStatus } from "./modelversion.ts";
import { done, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";

export interface TrustPolicyDeps {
  ctx: LineageContext;
  recorder: EventRecorder;
  writes: KubeWrites;
  clock: () => Date;
  /** Called with each artifact digest newly recorded as revoked, so its ModelVersions are judged again. */
  onArtifactRevoked(digest: string): void;
}

function involved(p: ModelTrustPolicy) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: MODEL_TRUST_POLICY.kind,
    metadata: { name: p.metadata.name, ...(p.metadata.uid === undefined ? {} : { uid: p.metadata.uid }) },
  };
}

/** A policy is Ready once it is valid (so lineage is judged by it) and its revocations are recorded. */
export const TRUST_POLICY_GATES: readonly Gate[] = [wants("Accepted", "True")];

function accepted(policy: ModelTrustPolicy): ConditionUpdate {
  const { spec } = policy;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  const revoked = spec.revocation?.artifacts?.length ?? 0;
  return {
    type: "Accepted",
    status: "True",
    reason: "Valid",
    message: [
      `mode ${policyMode(spec)}`,
      count(spec.trustedKeys?.length ?? 0, "trusted key"),
      count(spec.trustRoots?.length ?? 0, "trust root"),
      ...(revoked === 0 ? [] : [`${count(revoked, "artifact revocation")} recorded`]),
    ].join(", "),
  };
}

/** What status is computed from: a policy as read, valid or not. */
interface PolicyObject {
  metadata?: { name?: string; generation?: number };
  status?: ModelTrustPolicyStatus;
}

/** Status as observed now (pure): what the reconciler writes when it differs from the object's. */
export function trustPolicyStatus(
  object: PolicyObject,
  acceptance: ConditionUpdate,
  now: Date,
): ModelTrustPolicyStatus {
  const generation = object.metadata?.generation;
  const stamp = generation === undefined ? {} : { observedGeneration: generation };
  const conditions = setCondition(object.status?.conditions, { ...acceptance, ...stamp }, now);
  return { ...stamp, conditions: withSummary(conditions, TRUST_POLICY_GATES, "InForce", now, generation) };
}

export class TrustPolicyReconciler implements Reconciler {
  readonly name = "modeltrustpolicy";
  private readonly deps: TrustPolicyDeps;

  constructor(deps: TrustPolicyDeps) {
    this.deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { name } = splitKey(key);
    const object = this.deps.ctx.policies.get(name);
    if (object === undefined) return done();
    const checked = validateModelTrustPolicy(object);
    if (!checked.ok) {
      const message = describeErrors(checked.errors);
      return this.writeStatus(object, { type: "Accepted", status: "False", reason: "InvalidSpec", message });
    }
    const policy = checked.value;
    const { ctx, recorder } = this.deps;
    await ctx.trail.follow(ctx.ledger);
    for (const { digest, reason } of policy.spec.revocation?.artifacts ?? []) {
      // Recorded again when known (adding nothing), so a lost acknowledgement still gets its Event.
      const known = ctx.trail.revocations.artifact(digest) !== undefined;
      await recorder.record(
        involved(policy),
        recording(
          "ArtifactRevoked",
          { digest },
          { digest, reason, policy: policy.metadata.name },
          `artifact ${digest} revoked: ${reason}`,
        ),
      );
      if (!known) this.deps.onArtifactRevoked(digest);
    }
    return this.writeStatus(policy, accepted(policy));
  }

  private async writeStatus(object: PolicyObject, acceptance: ConditionUpdate): Promise<ReconcileResult> {
    const status = trustPolicyStatus(object, acceptance, this.deps.clock());
    if (!sameStatus(status, object.status))
      await this.deps.writes.patchClusterStatus(
        MODEL_TRUST_POLICY.plural,
        object.metadata?.name ?? "",
        status,
      );
    return done();
  }
}

/**
 * Artifact revocations recorded elsewhere (another cluster's operator, sharing the ledger):
 * each call reads the entries appended since the last and reports the digests new among them.
 */
export function artifactRevocationFollower(
  ctx: LineageContext,
  onArtifactRevoked: (digest: string) => void,
): () => Promise<void> {
  let seen = new Set<string>();
  let first = true;
  return async () => {
    await ctx.trail.follow(ctx.ledger);
    const now = ctx.trail.revocations.revokedArtifacts().map((a) => a.digest);
    // Those known at the first read were judged by every reconcile since the start.
    if (!first) for (const digest of now) if (!seen.has(digest)) onArtifactRevoked(digest);
    first = false;
    seen = new Set(now);
  };
}
