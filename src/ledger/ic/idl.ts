// The ledger canister's Candid interface (canister/ledger.did) for @dfinity/candid. A test parses
// ledger.did and checks every method here has the same type, and the canister tests call the
// real compiled canister through it.
import { IDL } from "@dfinity/candid";

export const AppendItem = IDL.Record({ key: IDL.Text, entry: IDL.Vec(IDL.Nat8) });
export const Receipt = IDL.Record({
  index: IDL.Nat64,
  leaf_hash: IDL.Vec(IDL.Nat8),
  size: IDL.Nat64,
  root: IDL.Vec(IDL.Nat8),
  duplicate: IDL.Bool,
});
export const AppendError = IDL.Variant({
  batch_too_large: IDL.Record({ bytes: IDL.Nat64, limit: IDL.Nat64 }),
  entry_too_large: IDL.Record({ bytes: IDL.Nat64, item: IDL.Nat64, limit: IDL.Nat64 }),
  invalid_entry: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
  invalid_key: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
  unauthorized: IDL.Text,
});
export const AppendResult = IDL.Variant({ ok: IDL.Vec(Receipt), err: AppendError });
export const Tip = IDL.Record({
  size: IDL.Nat64,
  root: IDL.Vec(IDL.Nat8),
  certificate: IDL.Opt(IDL.Vec(IDL.Nat8)),
});
export const Leaf = IDL.Record({ index: IDL.Nat64, leaf: IDL.Vec(IDL.Nat8) });
export const ProofResult = IDL.Variant({ ok: IDL.Vec(IDL.Vec(IDL.Nat8)), err: IDL.Text });
export const Stats = IDL.Record({
  size: IDL.Nat64,
  leaf_bytes: IDL.Nat64,
  stable_bytes: IDL.Nat64,
  max_entry_bytes: IDL.Nat64,
  max_batch_bytes: IDL.Nat64,
  max_key_bytes: IDL.Nat64,
  max_query_entries: IDL.Nat64,
  max_query_bytes: IDL.Nat64,
  last_append_entries: IDL.Nat64,
  last_append_instructions: IDL.Nat64,
});

/** Argument and result types of each method, by name, and whether it is a query. */
export const METHODS = {
  append: { args: [IDL.Vec(AppendItem)], result: [AppendResult], query: false },
  add_appender: { args: [IDL.Principal], result: [], query: false },
  remove_appender: { args: [IDL.Principal], result: [], query: false },
  set_max_entry_bytes: { args: [IDL.Nat64], result: [], query: false },
  entries: { args: [IDL.Nat64, IDL.Nat64], result: [IDL.Vec(Leaf)], query: true },
  lookup: { args: [IDL.Text], result: [IDL.Opt(Receipt)], query: true },
  tip: { args: [], result: [Tip], query: true },
  inclusion_proof: { args: [IDL.Nat64, IDL.Nat64], result: [ProofResult], query: true },
  consistency_proof: { args: [IDL.Nat64, IDL.Nat64], result: [ProofResult], query: true },
  appenders: { args: [], result: [IDL.Vec(IDL.Principal)], query: true },
  stats: { args: [], result: [Stats], query: true },
} as const;

/** The service for `Actor.createActor`. */
export const idlFactory: IDL.InterfaceFactory = () =>
  IDL.Service(
    Object.fromEntries(
      Object.entries(METHODS).map(([name, m]) => [
        name,
        IDL.Func([...m.args], [...m.result], m.query ? ["query"] : []),
      ]),
    ),
  );

type Bytes = Uint8Array | number[];
export interface ReceiptValue {
  index: bigint;
  leaf_hash: Bytes;
  size: bigint;
  root: Bytes;
  duplicate: boolean;
}
export type AppendErrorValue =
  | { batch_too_large: { bytes: bigint; limit: bigint } }
  | { entry_too_large: { bytes: bigint; item: bigint; limit: bigint } }
  | { invalid_entry: { item: bigint; reason: string } }
  | { invalid_key: { item: bigint; reason: string } }
  | { unauthorized: string };
export type AppendResultValue = { ok: ReceiptValue[] } | { err: AppendErrorValue };
export type ProofResultValue = { ok: Bytes[] } | { err: string };
export interface TipValue {
  size: bigint;
  root: Bytes;
  certificate: [] | [Bytes];
}
export interface LeafValue {
  index: bigint;
  leaf: Bytes;
}
export interface StatsValue {
  size: bigint;
  leaf_bytes: bigint;
  stable_bytes: bigint;
  max_entry_bytes: bigint;
  max_batch_bytes: bigint;
  max_key_bytes: bigint;
  max_query_entries: bigint;
  max_query_bytes: bigint;
  last_append_entries: bigint;
  last_append_instructions: bigint;
}

/** The canister as an Actor sees it (the methods the ic backend calls). */
export interface LedgerService {
  append(items: Array<{ key: string; entry: Uint8Array }>): Promise<AppendResultValue>;
  entries(start: bigint, count: bigint): Promise<LeafValue[]>;
  lookup(key: string): Promise<[] | [ReceiptValue]>;
  tip(): Promise<TipValue>;
  inclusion_proof(index: bigint, size: bigint): Promise<ProofResultValue>;
  consistency_proof(from: bigint, to: bigint): Promise<ProofResultValue>;
  stats(): Promise<StatsValue>;
}
