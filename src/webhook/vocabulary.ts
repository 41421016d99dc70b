// How the webhook reads modelchain objects and asks for a lineage verdict: the api
// component's validation, spec digest and namespace selector, and the lineage component's
// verifyLineage. The only webhook module that knows the CRD types.
import {
  describeErrors,
  namespaceMatches,
  policyMode,
  requiredChecksOf,
  specDigest,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelTrustPolicy,
  type ModelVersion,
} from "../api/index.ts";
import {
  lineagePolicy,
  signatureCheck,
  verifyLineage,
  verifyReinstatement,
  type LineagePolicy,
} from "../lineage/index.ts";
import type { ModelVocabulary } from "./cache.ts";
import { isRecord } from "./review.ts";
import type { RevocationView, TrustPolicyView } from "./state.ts";

/** A trust policy with its lineage form computed once. */
export interface CompiledPolicy {
  object: ModelTrustPolicy;
  lineage: LineagePolicy;
}

function policyView(object: ModelTrustPolicy): TrustPolicyView<CompiledPolicy> {
  const required = requiredChecksOf(object.spec);
  return {
    name: object.metadata.name,
    policy: { object, lineage: lineagePolicy(object.spec) },
    mode: policyMode(object.spec),
    requiredChecks: Object.entries(required)
      .filter(([, on]) => on)
      .map(([check]) => check),
    selects: (labels) => namespaceMatches(object.spec.namespaceSelector, labels),
  };
}

export const modelchainVocabulary: ModelVocabulary<ModelVersion, CompiledPolicy> = {
  modelVersion: (object) => {
    const checked = validateModelVersion(object);
    if (!checked.ok) return { ok: false, problem: describeErrors(checked.errors) };
    const mv = checked.value;
    const namespace = mv.metadata.namespace ?? "default";
    let digest: string | undefined;
    const view = {
      namespace,
      name: mv.metadata.name,
      revoked: mv.spec.revoked !== undefined,
      revokedReason: mv.spec.revoked?.reason ?? "",
      // Canonical JSON and a SHA-256 of the spec: only when read, which no review of a ModelVersion does.
      get specDigest(): string {
        return (digest ??= specDigest(mv.spec));
      },
      artifactDigest: mv.spec.artifact.digest,
      artifactUri: mv.spec.artifact.uri,
      ...(mv.metadata.uid === undefined ? {} : { uid: mv.metadata.uid }),
      parents: (mv.spec.parents ?? []).map((p) => ({ namespace: p.namespace ?? namespace, name: p.name })),
    };
    return { ok: true, view, object: mv };
  },
  policy: (object) => {
    const checked = validateModelTrustPolicy(object);
    return checked.ok
      ? { ok: true, view: policyView(checked.value) }
      : { ok: false, problem: describeErrors(checked.errors) };
  },
  // The interface's lookups, positional as ModelVocabulary declares them.
  // eslint-disable-next-line max-params -- one per lookup the cache hands in
  verify: (mv, resolve, policy, recorded, revocation, material) =>
    verifyLineage(mv, resolve, policy.policy.lineage, recorded, revocation, { material }),
  signature: (mv, policy, material) => {
    const { lineage } = policy.policy;
    const { check } = signatureCheck(mv, lineage, { material, now: new Date() });
    return { ...check, required: lineage.require.signature };
  },
  unrevocation,
};

function wasRevoked(oldObject: unknown): boolean {
  const spec = isRecord(oldObject) ? oldObject["spec"] : undefined;
  return isRecord(spec) && spec["revoked"] !== undefined;
}

/** Taking `spec.revoked` away lifts nothing; only a signed reinstatement of the recorded revocation does. */
function unrevocation(
  mv: ModelVersion,
  oldObject: unknown,
  revocation: RevocationView | undefined,
  policies: readonly TrustPolicyView<CompiledPolicy>[],
): string | undefined {
  if (mv.spec.revoked !== undefined) return undefined;
  if (revocation === undefined) {
    return wasRevoked(oldObject)
      ? "spec.revoked cannot be removed: its revocation is not in the ledger yet; once it is (status.revocation.ledgerIndex), reinstate with modelchain reinstate"
      : undefined;
  }
  const trusted = policies.map((p) => ({
    policy: p.name,
    keys: p.policy.object.spec.revocation?.reinstatementKeys ?? [],
  }));
  const verdict = verifyReinstatement(mv, revocation, trusted);
  return verdict.ok ? undefined : verdict.problem;
}
