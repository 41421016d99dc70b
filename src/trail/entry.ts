// A recording on a Kubernetes object becomes a ledger entry (pure).
import type { LedgerEntry } from "../ledger/index.ts";
import { TRAIL_VERSION, type EntryKind, type Recording } from "./kinds.ts";

/** The object an entry is about: only its identity is read. */
export interface Involved {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
}

/** What keys name a workload or model by: its uid, or its name where it has none (files). */
export function objectId(object: Involved): string {
  return object.metadata?.uid ?? object.metadata?.name ?? "";
}

export function entryFor<K extends EntryKind>(
  object: Involved,
  recorded: Recording<K>,
  cluster: string,
  now: Date,
): LedgerEntry {
  const meta = object.metadata ?? {};
  return {
    v: TRAIL_VERSION,
    kind: recorded.kind,
    cluster,
    subject: {
      apiVersion: object.apiVersion ?? "",
      kind: object.kind ?? "",
      name: meta.name ?? "",
      ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
      ...(meta.uid === undefined ? {} : { uid: meta.uid }),
    },
    key: recorded.key,
    observedAt: now.toISOString(),
    data: recorded.data,
  };
}
