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
export {
  CheckpointPublisher,
  DEFAULT_CHECKPOINT_EVERY_ENTRIES,
  DEFAULT_CHECKPOINT_EVERY_SECONDS,
  type CheckpointSink,
  type PublisherOptions,
} from "./publisher.ts";
export { checkpointRoutes, parseFrom, type HttpAnswer } from "./published-routes.ts";
export {
  originOf,
  logVerifier,
  checkpointBody,
  parseCheckpointBody,
  signCheckpointNote,
  openCheckpointNote,
  checkExtends,
  ForkDetectedError,
  type TreeHead,
  type SignedCheckpoint,
} from "./checkpoint-note.ts";
export {
  parseNote,
  formatNote,
  addSignature,
  cosignNote,
  signNote,
  verifiedSignature,
  noteVerifier,
  parseVkey,
  vkeyOf,
  ed25519PrivateKey,
  SignedNoteError,
  ED25519,
  COSIGNATURE_V1,
  type Note,
  type NoteSignature,
  type NoteVerifier,
} from "./signed-note.ts";
export { readPublishedNote, readPublishedNoteAt, publishedSizes } from "./file/published.ts";
