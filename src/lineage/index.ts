// The lineage component's public face: pure verification of a ModelVersion's lineage.
export {
  verifyLineage,
  lineagePolicy,
  type LineagePolicy,
  type LineageVerdict,
  type Resolve,
  type RecordedDigest,
  type RecordedRevocation,
  type LineageEnvironment,
} from "./verify.ts";
export {
  verifyOmsBundle,
  verifiedOmsManifest,
  OmsSignatureUntrusted,
  OmsDigestMismatch,
  type OmsVerified,
} from "./oms.ts";
export { OmsBundleInvalid, readOmsBundle } from "./oms-bundle.ts";
export { signatureCheck, type SignatureOutcome } from "./signers.ts";
export type { Material, MaterialRef } from "./oms-roots.ts";
export { CHECK_NAMES, type CheckName, type LedgerRevocation, type LineageCheck } from "./checks.ts";
export { keyIdOf, signSpec, signatureVerifies, publicKeyFromPem } from "./keys.ts";
export {
  reinstatementPayload,
  reinstatementSubject,
  signReinstatement,
  verifyReinstatement,
  type ReinstatementKeys,
  type ReinstatementSubject,
  type ReinstatementVerdict,
} from "./reinstatement.ts";
