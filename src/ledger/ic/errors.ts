// What the ic backend reports when the canister refuses a batch or answers what it cannot prove.
import { LedgerError } from "../errors.ts";
import type { AppendErrorValue } from "./idl.ts";

/** The canister refused an append batch: retrying the same batch cannot succeed. */
export class IcAppendRefused extends LedgerError {
  readonly reason: AppendErrorValue;
  constructor(canisterId: string, reason: AppendErrorValue, firstItem: number) {
    // Permanent unless the caller is at fault ("unauthorized"): then the entries are fine and
    // must wait for the right identity, not be set aside.
    super(`ledger canister ${canisterId} refused the batch: ${describeAppendError(reason, firstItem)}`, {
      permanent: !("unauthorized" in reason),
    });
    this.name = "IcAppendRefused";
    this.reason = reason;
  }
}

/** The canister answered something its certified tip does not back. */
export class IcVerificationError extends LedgerError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IcVerificationError";
  }
}

function describeAppendError(e: AppendErrorValue, offset: number): string {
  if ("unauthorized" in e) return `unauthorized: ${e.unauthorized}`;
  if ("batch_too_large" in e)
    return `batch_too_large: ${e.batch_too_large.bytes} bytes, limit ${e.batch_too_large.limit}`;
  if ("entry_too_large" in e)
    return `entry_too_large: entry ${offset + Number(e.entry_too_large.item)} is ${e.entry_too_large.bytes} bytes, limit ${e.entry_too_large.limit}`;
  if ("invalid_entry" in e)
    return `invalid_entry: entry ${offset + Number(e.invalid_entry.item)}: ${e.invalid_entry.reason}`;
  return `invalid_key: entry ${offset + Number(e.invalid_key.item)}: ${e.invalid_key.reason}`;
}
