export { FileLedger, type FileLedgerOptions } from "./file-ledger.ts";
export {
  LedgerCorruptError,
  LedgerLockedError,
  LedgerLockLost,
  LedgerAppendFailed,
  LedgerOpenFailed,
  CheckpointMismatchError,
} from "./errors.ts";
export { auditFileLedger, type AuditResult } from "./audit.ts";
