// The signed act that lifts a recorded revocation. Pure: the revocation, the keys and the
// object are passed in. The signature covers the object's namespace, name and spec digest, the
// ledger index of the revocation it lifts and the reason, so it lifts that one revocation of
// that one model and cannot be replayed against a later one or another object.
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import canonicalize from "canonicalize";
import { specDigest, type ModelVersion, type Reinstatement, type TrustedKey } from "../api/index.ts";
import { subjectName, type LedgerRevocation } from "./checks.ts";
import { keyIdOf, publicKeyFromPem } from "./keys.ts";

export interface ReinstatementSubject {
  namespace: string;
  name: string;
  specDigest: string;
  revocationIndex: number;
  reason: string;
}

/** The bytes a reinstatement signature covers: RFC 8785 canonical JSON of the subject. */
export function reinstatementPayload(s: ReinstatementSubject): Uint8Array {
  const text = canonicalize({ type: "modelchain.io/reinstatement", ...s });
  if (text === undefined) throw new TypeError("reinstatement cannot be serialised as JSON");
  return new TextEncoder().encode(text);
}

export function reinstatementSubject(
  mv: ModelVersion,
  revocationIndex: number,
  reason: string,
): ReinstatementSubject {
  return {
    namespace: mv.metadata.namespace ?? "default",
    name: mv.metadata.name,
    specDigest: specDigest(mv.spec),
    revocationIndex,
    reason,
  };
}

export function signReinstatement(s: ReinstatementSubject, privateKey: KeyObject): Reinstatement {
  return {
    reason: s.reason,
    revocationIndex: s.revocationIndex,
    keyId: keyIdOf(createPublicKey(privateKey)),
    signature: sign(null, reinstatementPayload(s), privateKey).toString("base64"),
  };
}

/** The keys one trust policy trusts for reinstatement. */
export interface ReinstatementKeys {
  policy: string;
  keys: readonly TrustedKey[];
}

export type ReinstatementVerdict =
  { ok: true; signedBy: string; policy: string } | { ok: false; problem: string };

const howTo = (mv: ModelVersion, index: number): string =>
  `reinstate it with a signed act: modelchain reinstate -f <manifest of ${subjectName(mv)}> --revocation ${index} --reason <why> --key <a key a ModelTrustPolicy lists under spec.revocation.reinstatementKeys>, then apply the manifest it writes`;

function signatureOk(act: Reinstatement, key: TrustedKey, payload: Uint8Array): boolean {
  const publicKey = publicKeyFromPem(key.publicKey);
  if (publicKey instanceof Error) return false;
  try {
    return verify(null, payload, publicKey, Buffer.from(act.signature, "base64"));
  } catch {
    return false;
  }
}

/**
 * Whether `mv` (its spec no longer revoked) carries a valid reinstatement of `revocation`:
 * signed by a reinstatement key of one of `trusted`, over this object and this revocation.
 */
export function verifyReinstatement(
  mv: ModelVersion,
  revocation: LedgerRevocation,
  trusted: readonly ReinstatementKeys[],
): ReinstatementVerdict {
  const who = subjectName(mv);
  if (revocation.artifactDigest !== undefined)
    return {
      ok: false,
      problem: `${who} is revoked because its artifact ${revocation.artifactDigest} is (ledger entry ${revocation.index}); reinstating the model does not lift that`,
    };
  const act = mv.spec.reinstated;
  if (act === undefined)
    return {
      ok: false,
      problem: `removing spec.revoked does not reinstate ${who}: its revocation is recorded in the ledger (entry ${revocation.index}); ${howTo(mv, revocation.index)}`,
    };
  if (act.revocationIndex !== revocation.index)
    return {
      ok: false,
      problem: `spec.reinstated of ${who} lifts the revocation at ledger entry ${act.revocationIndex}, but the one in force is entry ${revocation.index}; ${howTo(mv, revocation.index)}`,
    };
  const payload = reinstatementPayload(reinstatementSubject(mv, act.revocationIndex, act.reason));
  for (const { policy, keys } of trusted) {
    const key = keys.find((k) => k.keyId === act.keyId);
    if (key !== undefined && signatureOk(act, key, payload)) return { ok: true, signedBy: act.keyId, policy };
  }
  const known = trusted.some(({ keys }) => keys.some((k) => k.keyId === act.keyId));
  return {
    ok: false,
    problem: known
      ? `spec.reinstated of ${who}: the signature by ${act.keyId} does not verify over this ModelVersion and revocation ${act.revocationIndex}`
      : `spec.reinstated of ${who} is signed by ${act.keyId}, which no ModelTrustPolicy trusts for reinstatement (spec.revocation.reinstatementKeys)`,
  };
}
