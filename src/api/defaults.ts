import type { EnforcementMode, ModelTrustPolicySpec, RequiredChecks } from "./types.ts";

export const DEFAULT_MAX_LINEAGE_DEPTH = 16;

/** The policy's required checks with the CRD defaults applied (objects read from disk lack them). */
export function requiredChecksOf(spec: ModelTrustPolicySpec): Required<RequiredChecks> {
  const r = spec.require ?? {};
  return {
    signature: r.signature ?? true,
    datasetsPinned: r.datasetsPinned ?? true,
    parentsVerified: r.parentsVerified ?? true,
    recordedInLedger: r.recordedInLedger ?? false,
  };
}

export function policyMode(spec: ModelTrustPolicySpec): EnforcementMode {
  return spec.mode ?? "enforce";
}
