// The single-object checks of a ModelVersion's lineage, each a pure function returning a
// check with a reason a person can act on.
import { unsignableValues, type ModelVersion, type TrustedKey } from "../api/index.ts";
import { publicKeyFromPem, signatureVerifies } from "./keys.ts";

export const CHECK_NAMES = [
  "signature",
  "artifactDigest",
  "datasetsPinned",
  "notRevoked",
  "parentsVerified",
  "ancestorsNotRevoked",
  "acyclic",
  "depth",
  "recordedInLedger",
  "specDigestMatchesLedger",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface LineageCheck {
  name: CheckName;
  passed: boolean;
  /** Whether the policy requires this check; a verdict is verified when every required check passed. */
  required: boolean;
  reason: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface CheckResult {
  name: CheckName;
  passed: boolean;
  reason: string;
}
export const pass = (name: CheckName, reason: string): CheckResult => ({ name, passed: true, reason });
export const fail = (name: CheckName, reason: string): CheckResult => ({ name, passed: false, reason });

export function subjectName(mv: ModelVersion): string {
  return `${mv.metadata.namespace ?? "default"}/${mv.metadata.name}`;
}

export function signatureCheck(mv: ModelVersion, trustedKeys: readonly TrustedKey[]): CheckResult {
  const signatures = mv.spec.signatures ?? [];
  if (signatures.length === 0) return fail("signature", `lineage: ${subjectName(mv)} is not signed`);
  // Validated objects never get here with one; callers handing in raw objects must not verify.
  const unsignable = unsignableValues(mv.spec, "spec")[0];
  if (unsignable !== undefined)
    return fail("signature", `lineage: ${subjectName(mv)} ${unsignable.field} ${unsignable.message}`);
  const trusted = signatures.filter((s) => trustedKeys.some((k) => k.keyId === s.keyId));
  if (trusted.length === 0) {
    return fail(
      "signature",
      `lineage: ${subjectName(mv)} is signed only by untrusted keys (${signatures.map((s) => s.keyId).join(", ")})`,
    );
  }
  for (const sig of trusted) {
    const entry = trustedKeys.find((k) => k.keyId === sig.keyId);
    const key = entry === undefined ? undefined : publicKeyFromPem(entry.publicKey);
    if (key !== undefined && !(key instanceof Error) && signatureVerifies(mv.spec, sig, key)) {
      return pass("signature", `signed by trusted key ${sig.keyId}`);
    }
  }
  const ids = trusted.map((s) => s.keyId).join(", ");
  return fail(
    "signature",
    `lineage: signature by ${ids} does not verify over the spec of ${subjectName(mv)} (changed after signing?)`,
  );
}

export function artifactDigestCheck(mv: ModelVersion): CheckResult {
  const digest = mv.spec.artifact.digest;
  return DIGEST.test(digest)
    ? pass("artifactDigest", `artifact pinned at ${digest}`)
    : fail(
        "artifactDigest",
        `lineage: artifact ${JSON.stringify(mv.spec.artifact.uri)} digest ${JSON.stringify(digest)} is not sha256:<64 hex>`,
      );
}

export function datasetsPinnedCheck(mv: ModelVersion): CheckResult {
  const unpinned = (mv.spec.datasets ?? []).filter((d) => d.digest === undefined || !DIGEST.test(d.digest));
  if (unpinned.length === 0)
    return pass("datasetsPinned", `${(mv.spec.datasets ?? []).length} dataset(s) pinned by digest`);
  return fail(
    "datasetsPinned",
    unpinned.map((d) => `lineage: dataset ${JSON.stringify(d.name)} has no sha256 digest`).join("; "),
  );
}

/** A revocation the ledger holds for a ModelVersion (see src/trail/revocations.ts). */
export interface LedgerRevocation {
  index: number;
  reason: string;
  artifactDigest?: string;
}

/** Revoked when its spec asks for it, or when the ledger recorded it, whatever the spec says now. */
export function notRevokedCheck(mv: ModelVersion, recorded: LedgerRevocation | undefined): CheckResult {
  if (recorded !== undefined) {
    const by = recorded.artifactDigest === undefined ? "" : ` (artifact ${recorded.artifactDigest} revoked)`;
    return fail(
      "notRevoked",
      `lineage: ${subjectName(mv)} is revoked${by}: ${recorded.reason} (ledger entry ${recorded.index})`,
    );
  }
  const revoked = mv.spec.revoked;
  return revoked === undefined
    ? pass("notRevoked", "not revoked")
    : fail("notRevoked", `lineage: ${subjectName(mv)} is revoked: ${revoked.reason}`);
}
