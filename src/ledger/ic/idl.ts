// The ledger canister's Candid interface (canister/ledger.did) for @dfinity/candid; the
// canister tests call the real compiled canister through it, so a mismatch fails there.
import { IDL } from "@dfinity/candid";

export const AppendItem = IDL.Record({ key: IDL.Text, entry: IDL.Vec(IDL.Nat8) });
export const Receipt = IDL.Record({ index: IDL.Nat64, leaf_hash: IDL.Vec(IDL.Nat8), size: IDL.Nat64, root: IDL.Vec(IDL.Nat8), duplicate: IDL.Bool });
export const AppendError = IDL.Variant({
  batch_too_large: IDL.Record({ bytes: IDL.Nat64, limit: IDL.Nat64 }),
  entry_too_large: IDL.Record({ bytes: IDL.Nat64, item: IDL.Nat64, limit: IDL.Nat64 }),
  invalid_entry: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
  invalid_key: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
  unauthorized: IDL.Text,
});
export const AppendResult = IDL.Variant({ ok: IDL.Vec(Receipt), err: AppendError });
export const Tip = IDL.Record({ size: IDL.Nat64, root: IDL.Vec(IDL.Nat8), certificate: IDL.Opt(IDL.Vec(IDL.Nat8)) });
export const Leaf = IDL.Record({ index: IDL.Nat64, leaf: IDL.Vec(IDL.Nat8) });
export const ProofResult = IDL.Variant({ ok: IDL.Vec(IDL.Vec(IDL.Nat8)), err: IDL.Text });

/** Argument and result types of each method, by name. */
export const METHODS = {
  append: { args: [IDL.Vec(AppendItem)], result: [AppendResult] },
  entries: { args: [IDL.Nat64, IDL.Nat64], result: [IDL.Vec(Leaf)] },
  tip: { args: [], result: [Tip] },
  inclusion_proof: { args: [IDL.Nat64, IDL.Nat64], result: [ProofResult] },
  consistency_proof: { args: [IDL.Nat64, IDL.Nat64], result: [ProofResult] },
  add_appender: { args: [IDL.Principal], result: [] },
  remove_appender: { args: [IDL.Principal], result: [] },
  appenders: { args: [], result: [IDL.Vec(IDL.Principal)] },
} as const;

export type AppendResultValue =
  | { ok: Array<{ index: bigint; leaf_hash: Uint8Array | number[]; size: bigint; root: Uint8Array | number[]; duplicate: boolean }> }
  | { err: Record<string, unknown> };
