// What a ModelVersion's revocation record asks the operator to append next (pure): a
// revocation its spec or its artifact digest calls for, or a reinstatement its signed act
// proves. Nothing else changes the record: removing `spec.revoked` alone appends nothing.
import { specDigest, type ModelTrustPolicy, type ModelVersion } from "../api/index.ts";
import { verifyReinstatement, type ReinstatementKeys } from "../lineage/index.ts";
import type { LedgerEntry } from "../ledger/index.ts";
import {
  ENTRY_KINDS,
  objectId,
  recording,
  type ArtifactRevocation,
  type Recording,
  type RevocationStanding,
} from "../trail/index.ts";

const revokedMessage = (reason: string, artifactDigest: string | undefined): string =>
  artifactDigest === undefined
    ? `revoked: ${reason}`
    : `revoked with its artifact ${artifactDigest}: ${reason}`;

const reinstatedMessage = (index: number, signedBy: string, policy: string, reason: string): string =>
  `reinstated (lifts the revocation at ledger entry ${index}), signed by ${signedBy} under ModelTrustPolicy ${policy}: ${reason}`;

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
    revokedMessage(reason, artifactDigest),
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
    reinstatedMessage(revocationIndex, verdict.signedBy, verdict.policy, reason),
  );
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * A revocation or reinstatement entry already in the ledger, as the recording that made it: the
 * same key (appending it again adds nothing) and the same Event text.
 */
export function recordedAgain(entry: LedgerEntry): Recording | undefined {
  const d = entry.data;
  const reason = text(d["reason"]);
  if (entry.kind === "ModelVersionRevoked") {
    const artifactDigest = typeof d["artifactDigest"] === "string" ? d["artifactDigest"] : undefined;
    const revokedAt = typeof d["revokedAt"] === "string" ? d["revokedAt"] : null;
    return {
      kind: "ModelVersionRevoked",
      key: entry.key,
      data: {
        specDigest: text(d["specDigest"]),
        reason,
        revokedAt,
        ...(artifactDigest === undefined ? {} : { artifactDigest }),
      },
      eventType: ENTRY_KINDS.ModelVersionRevoked.eventType,
      message: revokedMessage(reason, artifactDigest),
    };
  }
  if (entry.kind !== "ModelVersionReinstated" || typeof d["revocationIndex"] !== "number") return undefined;
  const [index, signedBy, policy] = [d["revocationIndex"], text(d["signedBy"]), text(d["policy"])];
  return {
    kind: "ModelVersionReinstated",
    key: entry.key,
    data: { specDigest: text(d["specDigest"]), reason, revocationIndex: index, signedBy, policy },
    eventType: ENTRY_KINDS.ModelVersionReinstated.eventType,
    message: reinstatedMessage(index, signedBy, policy, reason),
  };
}
