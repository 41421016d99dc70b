// The ledger component's public face. Other components import only from here.
export { LedgerError } from "./errors.ts";
export * from "./entry.ts";
export * from "./envelope.ts";
export * from "./ledger.ts";
export { sha256, toHex, hashFromHex, sameHash, HexDecodeError, type Hash } from "./hash.ts";
export {
  hashLeaf,
  hashChildren,
  rootOf,
  inclusionPath,
  consistencyPath,
  EMPTY_ROOT,
  ProofInputError,
  RootMismatchError,
  type SubtreeSource,
} from "./merkle.ts";
export {
  rootFromInclusionProof,
  verifyInclusion,
  rootFromConsistencyProof,
  verifyConsistency,
  verifyExtends,
} from "./verify.ts";
export { MemoryTree } from "./memory-tree.ts";
export { MemoryLedger } from "./memory-ledger.ts";
export {
  openLedger,
  parseLedgerUrl,
  LedgerUrlError,
  type LedgerLocation,
  type OpenLedgerOptions,
} from "./open.ts";
export {
  FileLedger,
  auditFileLedger,
  LedgerCorruptError,
  LedgerLockedError,
  LedgerLockLost,
  LedgerAppendFailed,
  LedgerOpenFailed,
  CheckpointMismatchError,
  type AuditResult,
} from "./file/index.ts";
export {
  signCheckpoint,
  verifyCheckpoint,
  verifyIcCheckpoint,
  verifyAnyCheckpoint,
  parseCheckpoint,
  checkpointMessage,
  keyIdOf,
  CheckpointSignatureError,
  CheckpointKeyMismatchError,
  type CheckpointTrust,
} from "./checkpoint.ts";
export { CompactRange } from "./compact-range.ts";
export { auditLedger } from "./audit.ts";
export { FileOutbox, OutboxCorruptError, type FileOutboxOptions } from "./outbox.ts";
export {
  IcLedger,
  IcAppendRefused,
  IcVerificationError,
  splitBatches,
  type IcLedgerOptions,
} from "./ic/ledger.ts";
export { identityFromPem, IdentityPemError } from "./ic/identity.ts";
export { verifyCertifiedTip, certifiedTipData, CertificateRejected } from "./ic/certificate.ts";
export { OutboxLedger, LedgerUnavailableError, type OutboxLedgerOptions } from "./outbox-ledger.ts";
