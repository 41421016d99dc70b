// What an admission decision may know: a snapshot handed to the pure decision function.
// The cache (cache.ts) builds it from informers or from disk; tests build it from samples.

/** One lineage check as the lineage component reports it. */
export interface LineageCheck {
  name: string;
  passed: boolean;
  /** False when the policy does not require the check: its failure then denies nothing. */
  required?: boolean;
  reason: string;
}

export interface LineageVerdict {
  verified: boolean;
  checks: readonly LineageCheck[];
  /** When the verdict must be computed again (it rests on a certificate's validity period). */
  validUntil?: Date;
}

export type EnforcementMode = "enforce" | "warn" | "audit";

/** The trust policy fields a decision reads; `policy` is the object the lineage check needs. */
export interface TrustPolicyView<P = unknown> {
  name: string;
  policy: P;
  mode: EnforcementMode;
  requiredChecks: readonly string[];
  /** Whether the policy governs a namespace with these labels. */
  selects(namespaceLabels: Readonly<Record<string, string>>): boolean;
}

/** Ledger facts at the moment of the decision; `tip` goes into every AdmissionDenied entry. */
export interface LedgerTip {
  size: number;
  root: string;
}

/** A revocation the ledger holds for a ModelVersion (its own, or its artifact digest's). */
export interface RevocationView {
  index: number;
  reason: string;
  artifactDigest?: string;
}

/** The ModelVersion fields a decision reads, narrowed from the object. */
export interface ModelVersionView {
  namespace: string;
  name: string;
  revoked: boolean;
  revokedReason: string;
  /** Canonical digest of the spec as it is now. */
  specDigest: string;
  /** The artifact's digest, by which a whole artifact may be revoked. */
  artifactDigest?: string;
  /** The artifact's URI: an oci:// one names the repository a Pod's image volume may mount. */
  artifactUri?: string;
  /** metadata.uid when the object has one (from the API server; not in files). */
  uid?: string;
  /** The parents it names, namespace filled in (the child's when the ref has none). */
  parents?: ReadonlyArray<{ namespace: string; name: string }>;
}

/**
 * A read-only view of everything known when a review arrives. All lookups are synchronous and
 * side-effect free: the shell resolves misses before calling the decision.
 */
export interface AdmissionState<MV = unknown, P = unknown> {
  ledgerTip: LedgerTip | undefined;
  policies: readonly TrustPolicyView<P>[];
  /** Labels of a namespace, or undefined when the namespace is unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  modelVersion(namespace: string, name: string): MV | undefined;
  /** Narrows an object to a ModelVersion, or says which field is wrong. */
  viewModelVersion(
    object: unknown,
  ): { ok: true; view: ModelVersionView; object: MV } | { ok: false; problem: string };
  /** Lineage verdict of a ModelVersion under a policy (memoised by the cache). */
  verdict(modelVersion: MV, policy: TrustPolicyView<P>): LineageVerdict;
  /**
   * The ModelVersion's own signature check under a policy, as `verdict` would report it, without
   * walking its parents: all a create or update of a ModelVersion is judged on.
   */
  signature(modelVersion: MV, policy: TrustPolicyView<P>): LineageCheck;
  /**
   * Why this ModelVersion, without `spec.revoked`, is still revoked although it was (by the
   * ledger, or `oldObject`): no valid signed reinstatement under `policies`. Undefined otherwise.
   */
  unrevocation(
    modelVersion: MV,
    oldObject: unknown,
    policies: readonly TrustPolicyView<P>[],
  ): string | undefined;
}
