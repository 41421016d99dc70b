// ModelTrustPolicy reconciler: records each artifact digest the policy revokes as
// ArtifactRevoked, once. The entry is the fact every ModelVersion with that digest is judged
// by, in every namespace and every cluster following the ledger; taking the digest out of the
// policy again lifts nothing.
import {
  GROUP,
  MODEL_TRUST_POLICY,
  VERSION,
  validateModelTrustPolicy,
  type ModelTrustPolicy,
} from "../api/index.ts";
import { recording } from "../trail/index.ts";
import type { LineageContext } from "./lineage-context.ts";
import { done, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";

export interface TrustPolicyDeps {
  ctx: LineageContext;
  recorder: EventRecorder;
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

export class TrustPolicyReconciler implements Reconciler {
  readonly name = "modeltrustpolicy";
  private readonly deps: TrustPolicyDeps;

  constructor(deps: TrustPolicyDeps) {
    this.deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { name } = splitKey(key);
    const object = this.deps.ctx.policies.get(name);
    const checked = object === undefined ? undefined : validateModelTrustPolicy(object);
    if (checked === undefined || !checked.ok) return done();
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
