// The lineage component's public face: pure verification of a ModelVersion's lineage.
export {
  verifyLineage,
  lineagePolicy,
  type LineagePolicy,
  type LineageVerdict,
  type Resolve,
  type RecordedDigest,
  type RecordedRevocation,
} from "./verify.ts";
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
