// The signature check: who signed a ModelVersion, counted against the policy's required number
// of distinct signers. modelchain's ed25519 signatures cover the canonical spec; OMS bundles
// cover the artifact and are bound to spec.artifact.digest (oms.ts).
import {
  unsignableValues,
  type ModelVersion,
  type Signature,
  type TrustRoot,
  type TrustedKey,
} from "../api/index.ts";
import type { FileDigest } from "../artifact/manifest.ts";
import { fail, pass, subjectName, type CheckResult } from "./checks.ts";
import { publicKeyFromPem, signatureVerifies } from "./keys.ts";
import { verifyOmsBundle, type OmsContext } from "./oms.ts";
import { describeRef, type MaterialRef } from "./oms-roots.ts";

export interface SigningPolicy {
  trustedKeys: readonly TrustedKey[];
  trustRoots: readonly TrustRoot[];
  requiredSigners: number;
}

interface Tally {
  validUntil?: Date;
  /** The per-file digests of the first OMS bundle that verified (what delivery checks files by). */
  files?: readonly FileDigest[];
  signers: Set<string>;
  notes: string[];
  problems: string[];
}

function ed25519Tally(
  mv: ModelVersion,
  signatures: readonly Signature[],
  keys: readonly TrustedKey[],
  tally: Tally,
): void {
  if (signatures.length === 0) return;
  const trusted = signatures.filter((s) => keys.some((k) => k.keyId === s.keyId));
  if (trusted.length === 0) {
    tally.problems.push(
      `lineage: ${subjectName(mv)} is signed only by untrusted keys (${signatures.map((s) => s.keyId).join(", ")})`,
    );
    return;
  }
  const verified = trusted.filter((sig) => {
    const entry = keys.find((k) => k.keyId === sig.keyId);
    const key = entry === undefined ? undefined : publicKeyFromPem(entry.publicKey);
    return key !== undefined && !(key instanceof Error) && signatureVerifies(mv.spec, sig, key);
  });
  for (const sig of verified) tally.signers.add(`trusted key ${sig.keyId ?? ""}`);
  if (verified.length === 0)
    tally.problems.push(
      `lineage: signature by ${trusted.map((s) => s.keyId).join(", ")} does not verify over the spec of ${subjectName(mv)} (changed after signing?)`,
    );
}

function bundleRef(mv: ModelVersion, s: Signature): MaterialRef | undefined {
  const namespace = mv.metadata.namespace ?? "default";
  if (s.configMapKeyRef !== undefined)
    return { purpose: "bundle", kind: "ConfigMap", namespace, ...s.configMapKeyRef };
  if (s.secretKeyRef !== undefined)
    return { purpose: "bundle", kind: "Secret", namespace, ...s.secretKeyRef };
  return undefined;
}

function omsTally(
  mv: ModelVersion,
  [s, index]: [Signature, number],
  policy: SigningPolicy,
  ctx: OmsContext,
  tally: Tally,
): void {
  const where = `lineage: ${subjectName(mv)} spec.signatures[${index}] (oms)`;
  const ref = bundleRef(mv, s);
  const json = s.bundle ?? (ref === undefined ? undefined : ctx.material(ref));
  if (json === undefined) {
    tally.problems.push(
      `${where}: bundle ${ref === undefined ? "" : describeRef(ref)} is not known (is it labelled modelchain.io/trust-material?)`,
    );
    return;
  }
  if (policy.trustRoots.length === 0) {
    tally.problems.push(`${where}: the policy has no trustRoots to verify an OMS bundle with`);
    return;
  }
  try {
    const verified = verifyOmsBundle(json, policy.trustRoots, mv.spec.artifact.digest, ctx);
    tally.signers.add(verified.signer);
    tally.files ??= verified.files;
    if (
      verified.validUntil !== undefined &&
      (tally.validUntil === undefined || verified.validUntil < tally.validUntil)
    )
      tally.validUntil = verified.validUntil;
    tally.notes.push(`OMS bundle for model ${JSON.stringify(verified.modelName)} over ${verified.digest}`);
  } catch (e: unknown) {
    if (!(e instanceof Error)) throw e;
    tally.problems.push(`${where}: ${e.message}`);
  }
}

/** The signature check, and the artifact's per-file digests when a verified OMS bundle lists them. */
export interface SignatureOutcome {
  check: CheckResult;
  files?: readonly FileDigest[];
}

export function signatureCheck(mv: ModelVersion, policy: SigningPolicy, ctx: OmsContext): SignatureOutcome {
  const signatures = mv.spec.signatures ?? [];
  if (signatures.length === 0)
    return { check: fail("signature", `lineage: ${subjectName(mv)} is not signed`) };
  // Validated objects never get here with one; callers handing in raw objects must not verify.
  const unsignable = unsignableValues(mv.spec, "spec")[0];
  if (unsignable !== undefined)
    return {
      check: fail("signature", `lineage: ${subjectName(mv)} ${unsignable.field} ${unsignable.message}`),
    };
  const tally: Tally = { signers: new Set(), notes: [], problems: [] };
  ed25519Tally(
    mv,
    signatures.filter((s) => s.type !== "oms"),
    policy.trustedKeys,
    tally,
  );
  signatures.forEach((s, i) => {
    if (s.type === "oms") omsTally(mv, [s, i], policy, ctx, tally);
  });
  const check = tallied(mv, policy, tally);
  return check.passed && tally.files !== undefined ? { check, files: tally.files } : { check };
}

function tallied(mv: ModelVersion, policy: SigningPolicy, tally: Tally): CheckResult {
  const signers = [...tally.signers];
  const need = policy.requiredSigners;
  if (signers.length >= need) {
    const passed = pass("signature", [`signed by ${signers.join(", ")}`, ...tally.notes].join("; "));
    return tally.validUntil === undefined ? passed : { ...passed, validUntil: tally.validUntil };
  }
  if (signers.length === 0) return fail("signature", tally.problems.join("; "));
  return fail(
    "signature",
    [
      `lineage: ${subjectName(mv)} has ${signers.length} of the ${need} distinct signers the policy requires (${signers.join(", ")})`,
      ...tally.problems,
    ].join("; "),
  );
}
