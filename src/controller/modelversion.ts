// ModelVersion reconciler: verify lineage, record registration (once per spec digest) and
// revocation, and report both in status. Revocation propagates: dependants are enqueued.
import { isDeepStrictEqual } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  describeErrors,
  setCondition,
  specDigest,
  validateModelVersion,
  wants,
  withSummary,
  MODEL_VERSION,
  type Condition,
  type Gate,
  type ModelVersion,
  type ModelVersionStatus,
  type RevocationStatus,
} from "../api/index.ts";
import type { Receipt } from "../ledger/index.ts";
import type { KubeWrites } from "./kube.ts";
import {
  objectId,
  recording,
  type EntryData,
  type RecordedRevocation,
  type Recording,
} from "../trail/index.ts";
import {
  failureSummary,
  governingPolicies,
  recordedRevocation,
  verdicts,
  verifiedUnderAll,
  type LineageContext,
  type PolicyVerdict,
} from "./lineage-context.ts";
import { recordedAgain, reinstatementKeys, revocationAct } from "./revocation-act.ts";
import { done, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";

export interface ModelVersionDeps {
  ctx: LineageContext;
  recorder: EventRecorder;
  writes: KubeWrites;
  clock: () => Date;
  /** Called after a ModelVersion's verdict is known, so dependants (children, deployments) re-check. */
  onVerdict(namespace: string, name: string): void;
}

function registrationData(mv: ModelVersion, results: PolicyVerdict[]): EntryData["ModelVersionRegistered"] {
  return {
    specDigest: specDigest(mv.spec),
    model: mv.spec.model,
    version: mv.spec.version,
    artifact: { uri: mv.spec.artifact.uri, digest: mv.spec.artifact.digest },
    parents: (mv.spec.parents ?? []).map(
      (p) => `${p.namespace ?? mv.metadata.namespace ?? "default"}/${p.name}`,
    ),
    datasets: (mv.spec.datasets ?? []).map((d) => ({ name: d.name, uri: d.uri, digest: d.digest ?? null })),
    training: mv.spec.training ?? {},
    signedBy: (mv.spec.signatures ?? []).map((s, i) => s.keyId ?? `oms bundle spec.signatures[${i}]`),
    verified: verifiedUnderAll(results),
    failedChecks: results.flatMap((r) => r.verdict.failed),
  };
}

/** Registered once per spec digest; the first registration of the uid is the reference. */
function registration(mv: ModelVersion, results: PolicyVerdict[]): Recording<"ModelVersionRegistered"> {
  const digest = specDigest(mv.spec);
  const verified = verifiedUnderAll(results);
  return recording(
    "ModelVersionRegistered",
    { modelVersion: objectId(mv), specDigest: digest },
    registrationData(mv, results),
    `registered ${mv.spec.model} ${mv.spec.version} (${digest}), lineage ${verified ? "verified" : `not verified: ${failureSummary(results)}`}`,
    verified ? "Normal" : "Warning",
  );
}

/** A ModelVersion is Ready once its lineage verified and the ledger recorded it. */
export const MODEL_VERSION_GATES: readonly Gate[] = [
  wants("Verified", "True"),
  wants("Recorded", "True", "Reconciling"),
];

/** Status as observed now (pure): what the reconciler writes when it differs from the object's. */
export function modelVersionStatus(
  mv: ModelVersion,
  results: PolicyVerdict[],
  latest: Receipt,
  revocation: RecordedRevocation | undefined,
  now: Date,
): ModelVersionStatus {
  const verified = verifiedUnderAll(results);
  const generation = mv.metadata.generation;
  let conditions: Condition[] = setCondition(
    mv.status?.conditions,
    {
      type: "Verified",
      status: verified ? "True" : "False",
      reason: verified ? "LineageVerified" : results.length === 0 ? "NoTrustPolicy" : "LineageCheckFailed",
      message: verified
        ? `verified under ${results.map((r) => r.policy).join(", ")}`
        : failureSummary(results),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: "Recorded",
      status: "True",
      reason: revocation === undefined ? "RegistrationRecorded" : "RevocationRecorded",
      message: `ledger entry ${latest.index}`,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    },
    now,
  );
  const depth = results[0]?.verdict.depth;
  return {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(revocation === undefined ? {} : { revocation: revocationStatus(revocation) }),
    conditions: withSummary(conditions, MODEL_VERSION_GATES, "VerifiedAndRecorded", now, generation),
    specDigest: specDigest(mv.spec),
    ledger: { index: latest.index, leafHash: latest.leafHash },
    ...(depth === undefined ? {} : { lineageDepth: depth }),
  };
}

function revocationStatus(r: RecordedRevocation): RevocationStatus {
  return {
    ledgerIndex: r.index,
    reason: r.reason,
    ...(r.artifactDigest === undefined ? {} : { artifactDigest: r.artifactDigest }),
  };
}

/**
 * Equal as JSON values, whatever the key order: the API server returns custom resources with
 * their keys sorted, so comparing serialisations called every status "changed" and a no-op
 * patch woke the dependants again (a parent cycle reconciled in a loop).
 */
export function sameStatus(a: unknown, b: unknown): boolean {
  const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? {})) as unknown;
  return isDeepStrictEqual(plain(a), plain(b));
}

export class ModelVersionReconciler implements Reconciler {
  readonly name = "modelversion";
  private readonly deps: ModelVersionDeps;

  constructor(deps: ModelVersionDeps) {
    this.deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const object = this.deps.ctx.modelVersions.get(name, namespace);
    if (object === undefined) return done();
    const checked = validateModelVersion(object);
    if (!checked.ok) return this.reportInvalid(object, namespace, name, describeErrors(checked.errors));
    const mv = checked.value;
    const judged = await verdicts(this.deps.ctx, mv);
    const registered = await this.deps.recorder.record(mv, registration(mv, judged));
    const act = revocationAct(
      mv,
      this.revocations().of(namespace, name, mv.metadata.uid),
      this.revocations().artifact(mv.spec.artifact.digest),
      reinstatementKeys(governingPolicies(this.deps.ctx, namespace)),
    );
    const acted = act === undefined ? undefined : await this.deps.recorder.record(mv, act);
    // Judged again from the ledger once it holds the new fact.
    const results = act === undefined ? judged : await verdicts(this.deps.ctx, mv);
    const revocation = recordedRevocation(this.deps.ctx, mv);
    const latest = acted ?? (await this.recordStanding(mv, registered));
    const status = modelVersionStatus(mv, results, latest, revocation, this.deps.clock());
    if (sameStatus(status, mv.status)) return done();
    await this.deps.writes.patchStatus(MODEL_VERSION.plural, namespace, name, status);
    // Only a changed status wakes dependants, so a cycle of parents settles instead of looping.
    this.deps.onVerdict(namespace, name);
    return done();
  }

  private revocations() {
    return this.deps.ctx.trail.revocations;
  }

  /**
   * Records the object's latest revocation or reinstatement entry again (a duplicate: nothing is
   * appended), so that its Event is emitted even when the pass that appended it lost the
   * acknowledgement; returns its receipt, or the registration's when there is none.
   */
  private async recordStanding(mv: ModelVersion, registered: Receipt): Promise<Receipt> {
    const standing = this.revocations().of(
      mv.metadata.namespace ?? "default",
      mv.metadata.name,
      mv.metadata.uid,
    );
    if (standing.state === "never") return registered;
    const index = standing.state === "revoked" ? standing.revocation.index : standing.reinstatement.index;
    const again = recordedAgain((await this.deps.ctx.ledger.get(index)).envelope.entry);
    return again === undefined ? registered : this.deps.recorder.record(mv, again);
  }

  /** A malformed ModelVersion gets a condition that names the field; nothing is recorded. */
  private async reportInvalid(
    object: KubernetesObject,
    namespace: string,
    name: string,
    problem: string,
  ): Promise<ReconcileResult> {
    const current = (object as { status?: ModelVersionStatus }).status;
    const generation = object.metadata?.generation;
    const stamp = generation === undefined ? {} : { observedGeneration: generation };
    const now = this.deps.clock();
    const conditions = setCondition(
      current?.conditions,
      { type: "Verified", status: "False", reason: "InvalidSpec", message: problem, ...stamp },
      now,
    );
    const status = {
      ...current,
      ...stamp,
      conditions: withSummary(conditions, MODEL_VERSION_GATES, "VerifiedAndRecorded", now, generation),
    };
    if (!sameStatus(status, current))
      await this.deps.writes.patchStatus(MODEL_VERSION.plural, namespace, name, status);
    return done();
  }
}
