// The admission decision: a pure function of the review and a snapshot of what is known.
// The HTTPS server, `modelchain check` and the tests all call this one function.
import { imageVolumeProblems } from "../api/image-volumes.ts";
import { firstUnpinned } from "./images.ts";
import type { AdmissionRequest } from "./review.ts";
import type {
  AdmissionState,
  EnforcementMode,
  LineageCheck,
  LineageVerdict,
  ModelVersionView,
  TrustPolicyView,
} from "./state.ts";
import { subjectOf, type Subject, type Workload } from "./subjects.ts";

/** Why a review was answered as it was; a fixed set, used as the metric label `reason`. */
export const DECISION_REASONS = [
  "verified",
  "ungated",
  "unchanged",
  "revocation",
  "scale-down",
  "namespace-not-selected",
  "invalid-object",
  "image-not-pinned",
  "artifact-volume-mismatch",
  "model-version-missing",
  "model-version-revoked",
  "revoked-ancestor",
  "spec-digest-mismatch",
  "signature-invalid",
  "policy-check-failed",
  "model-version-unverified",
  "lookup-failed",
  "webhook-not-ready",
  "internal-error",
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];

/** One failed check under one policy. */
export interface Finding {
  reason: DecisionReason;
  check: string;
  message: string;
  policy: string;
  mode: EnforcementMode;
}

export interface AdmissionDecision {
  allowed: boolean;
  /** Names the failed check(s) when denied; empty when allowed cleanly. */
  message: string;
  warnings: string[];
  reason: DecisionReason;
  checkFailed: string | undefined;
  resource: string;
  /** Findings to record in the ledger (enforce denials and audit findings); none on dry runs. */
  record: Finding[];
}

type Failure = Omit<Finding, "policy" | "mode">;

function fail(reason: DecisionReason, check: string, message: string): Failure {
  return { reason, check, message };
}

/** The lineage component's check names (src/lineage), most specific first: the first failed
 * one becomes the decision's reason. Checks a policy can switch off count as policy checks. */
const CHECK_REASONS: ReadonlyArray<[string, DecisionReason]> = [
  ["notRevoked", "model-version-revoked"],
  // A spec edited after registration is tampering, not a missing record.
  ["specDigestMatchesLedger", "spec-digest-mismatch"],
  ["ancestorsNotRevoked", "revoked-ancestor"],
  ["recordedInLedger", "policy-check-failed"],
  ["signature", "signature-invalid"],
  ["acyclic", "model-version-unverified"],
  ["parentsVerified", "policy-check-failed"],
  ["datasetsPinned", "policy-check-failed"],
  ["artifactDigest", "model-version-unverified"],
  ["depth", "model-version-unverified"],
];

function reasonForCheck(check: LineageCheck): DecisionReason {
  return CHECK_REASONS.find(([name]) => name === check.name)?.[1] ?? "model-version-unverified";
}

function rank(check: LineageCheck): number {
  const i = CHECK_REASONS.findIndex(([name]) => name === check.name);
  return i < 0 ? CHECK_REASONS.length : i;
}

function verdictFailures(verdict: LineageVerdict, subject: string): Failure[] {
  if (verdict.verified) return [];
  const failed = verdict.checks
    .filter((c) => !c.passed && c.required !== false)
    .sort((a, b) => rank(a) - rank(b));
  if (failed.length === 0) return [fail("model-version-unverified", "lineage", `${subject} is not verified`)];
  return failed.map((c) => fail(reasonForCheck(c), c.name, `${subject}: ${c.reason}`));
}

function workloadFailures<MV, P>(
  w: Workload,
  ns: string,
  policy: TrustPolicyView<P>,
  state: AdmissionState<MV, P>,
): Failure[] {
  const unpinned = firstUnpinned(w.images);
  const pinning =
    unpinned === undefined
      ? []
      : [
          fail(
            "image-not-pinned",
            "imagePinned",
            `image ${JSON.stringify(unpinned.image ?? null)} at ${unpinned.path} is not pinned by digest (name@sha256:<64 hex>)`,
          ),
        ];
  const mv = state.modelVersion(ns, w.modelVersion);
  const subject = `ModelVersion ${ns}/${w.modelVersion}`;
  if (mv === undefined)
    return [...pinning, fail("model-version-missing", "modelVersionExists", `${subject} does not exist`)];
  const viewed = state.viewModelVersion(mv);
  if (!viewed.ok)
    return [...pinning, fail("model-version-unverified", "schema", `${subject}: ${viewed.problem}`)];
  const { view } = viewed;
  if (view.revoked) {
    return [
      ...pinning,
      fail(
        "model-version-revoked",
        "notRevoked",
        `${subject} is revoked${view.revokedReason ? `: ${view.revokedReason}` : ""}`,
      ),
    ];
  }
  return [
    ...pinning,
    ...volumeFailures(w, view, subject),
    ...verdictFailures(state.verdict(mv, policy), subject),
  ];
}

/** Image volumes must hold the signed artifact: pinned, and at its digest when in its repository. */
function volumeFailures(w: Workload, view: ModelVersionView, subject: string): Failure[] {
  const volumes = w.imageVolumes ?? [];
  if (volumes.length === 0 || view.artifactUri === undefined || view.artifactDigest === undefined) return [];
  const unreadable = volumes
    .filter((v) => typeof v.reference !== "string")
    .map(
      (v) =>
        `image volume ${v.name}: reference ${JSON.stringify(v.reference ?? null)} is not an image reference`,
    );
  const readable = volumes.flatMap((v) =>
    typeof v.reference === "string" ? [{ name: v.name, image: { reference: v.reference } }] : [],
  );
  return [
    ...unreadable,
    ...imageVolumeProblems(readable, { uri: view.artifactUri, digest: view.artifactDigest }),
  ].map((problem) => fail("artifact-volume-mismatch", "artifactVolumePinned", `${subject}: ${problem}`));
}

function modelVersionFailures<MV, P>(
  subject: Extract<Subject, { type: "modelversion" }>,
  policy: TrustPolicyView<P>,
  policies: readonly TrustPolicyView<P>[],
  state: AdmissionState<MV, P>,
): Failure[] {
  const viewed = state.viewModelVersion(subject.object);
  if (!viewed.ok) return [fail("invalid-object", "schema", `ModelVersion: ${viewed.problem}`)];
  const name = `ModelVersion ${viewed.view.namespace}/${viewed.view.name}`;
  // At create/update only the object's own signature is judged; parents may arrive later.
  const check = state.signature(viewed.object, policy);
  const signature =
    !check.passed && check.required !== false
      ? [fail("signature-invalid", check.name, `${name}: ${check.reason}`)]
      : [];
  // Reinstatement keys of every policy that selects the namespace count, as in the operator.
  const unrevoked = state.unrevocation(viewed.object, subject.oldObject, policies);
  return unrevoked === undefined
    ? signature
    : [fail("model-version-revoked", "notRevoked", `${name}: ${unrevoked}`), ...signature];
}

function failuresOf<MV, P>(
  subject: Exclude<Subject, { type: "ungated" }>,
  ns: string,
  policy: TrustPolicyView<P>,
  policies: readonly TrustPolicyView<P>[],
  state: AdmissionState<MV, P>,
): Failure[] {
  if (subject.type === "invalid") return [fail("invalid-object", "schema", subject.problem)];
  if (subject.type === "modelversion") return modelVersionFailures(subject, policy, policies, state);
  const failures = workloadFailures(subject, ns, policy, state);
  const { transition } = subject;
  return transition === undefined
    ? failures
    : failures.map((f) => ({ ...f, message: `${transition}: ${f.message}` }));
}

function allowed(reason: DecisionReason, resource: string): AdmissionDecision {
  return { allowed: true, message: "", warnings: [], reason, checkFailed: undefined, resource, record: [] };
}

function describe(f: Finding): string {
  return `${f.check} failed: ${f.message} (ModelTrustPolicy ${f.policy}, mode ${f.mode})`;
}

/** Folds findings by mode: any enforce finding denies, warn adds warnings, audit records. */
function combine(findings: Finding[], resource: string, dryRun: boolean): AdmissionDecision {
  const enforced = findings.filter((f) => f.mode === "enforce");
  const first = enforced[0] ?? findings[0];
  if (first === undefined) return allowed("verified", resource);
  const warnings = findings.filter((f) => f.mode === "warn").map((f) => `modelchain: ${describe(f)}`);
  const record = dryRun ? [] : findings.filter((f) => f.mode !== "warn");
  const denied = enforced.length > 0;
  const message = denied ? `modelchain: ${enforced.map(describe).join("; ")}` : "";
  return {
    allowed: !denied,
    message,
    warnings,
    reason: first.reason,
    checkFailed: first.check,
    resource,
    record,
  };
}

/**
 * Decides one AdmissionReview request. Namespaces no trust policy selects are allowed untouched;
 * otherwise every selecting policy judges the object and the strictest outcome wins.
 */
export function admissionDecision<MV, P>(
  request: AdmissionRequest,
  state: AdmissionState<MV, P>,
): AdmissionDecision {
  const subject = subjectOf(request);
  if (subject.type === "ungated") return allowed(subject.why ?? "ungated", subject.resource);
  // The API server labels every namespace with its own name (since 1.21); unknown ones get only that.
  const labels = state.namespaceLabels(request.namespace) ?? {
    "kubernetes.io/metadata.name": request.namespace,
  };
  // A review that cannot be placed in a namespace is judged by every policy, never by none.
  const unplaced = subject.type === "invalid" && subject.unplaced === true;
  const policies = unplaced ? state.policies : state.policies.filter((p) => p.selects(labels));
  if (policies.length === 0) return allowed("namespace-not-selected", subject.resource);
  const findings = policies.flatMap((policy) =>
    failuresOf(subject, request.namespace, policy, policies, state).map((f) => ({
      ...f,
      policy: policy.name,
      mode: policy.mode,
    })),
  );
  return combine(findings, subject.resource, request.dryRun);
}
