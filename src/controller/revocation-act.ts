// What a ModelVersion's revocation record asks the operator to append next (pure): a
// revocation its spec or its artifact digest calls for, or a reinstatement its signed act
// proves. Nothing else changes the record: removing `spec.revoked` alone appends nothing.
import { specDigest, type ModelTrustPolicy, type ModelVersion } from "../api/index.ts";
import { verifyReinstatement, type ReinstatementKeys } from "../lineage/index.ts";
import {
  objectId,
  recording,
  type ArtifactRevocation,
  type Recording,
  type RevocationStanding,
} from "../trail/index.ts";

export function reinstatementKeys(policies: readonly ModelTrustPolicy[]): ReinstatementKeys[] {
  return policies.map((p) => ({ policy: p.metadata.name, keys: p.spec.revocation?.reinstatementKeys ?? [] }));
}

function revoke(
  mv: ModelVersion,
  standing: RevocationStanding,
  reason: string,
  revokedAt: string | null,
  artifactDigest?: string,
): Recording<"ModelVersionRevoked"> {
  const after = standing.state === "reinstated" ? { after: standing.reinstatement.index } : {};
  return recording(
    "ModelVersionRevoked",
    { modelVersion: objectId(mv), ...after },
    {
      specDigest: specDigest(mv.spec),
      reason,
      revokedAt,
      ...(artifactDigest === undefined ? {} : { artifactDigest }),
    },
    artifactDigest === undefined
      ? `revoked: ${reason}`
      : `revoked with its artifact ${artifactDigest}: ${reason}`,
  );
}

/** The next revocation entry of `mv`, or undefined when the record already says what it should. */
export function revocationAct(
  mv: ModelVersion,
  standing: RevocationStanding,
  artifact: ArtifactRevocation | undefined,
  trusted: readonly ReinstatementKeys[],
): Recording<"ModelVersionRevoked" | "ModelVersionReinstated"> | undefined {
  if (standing.state !== "revoked") {
    if (mv.spec.revoked !== undefined)
      return revoke(mv, standing, mv.spec.revoked.reason, mv.spec.revoked.revokedAt ?? null);
    if (artifact !== undefined) return revoke(mv, standing, artifact.reason, null, artifact.digest);
    return undefined;
  }
  // A revoked artifact digest is not lifted by reinstating one model that carries it.
  if (mv.spec.revoked !== undefined || mv.spec.reinstated === undefined || artifact !== undefined)
    return undefined;
  const verdict = verifyReinstatement(mv, standing.revocation, trusted);
  if (!verdict.ok) return undefined;
  const { revocationIndex, reason } = mv.spec.reinstated;
  return recording(
    "ModelVersionReinstated",
    { modelVersion: objectId(mv), revocationIndex },
    {
      specDigest: specDigest(mv.spec),
      reason,
      revocationIndex,
      signedBy: verdict.signedBy,
      policy: verdict.policy,
    },
    `reinstated (lifts the revocation at ledger entry ${revocationIndex}), signed by ${verdict.signedBy} under ModelTrustPolicy ${verdict.policy}: ${reason}`,
  );
}
