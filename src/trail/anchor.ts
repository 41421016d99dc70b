// A file ledger's published checkpoint as an entry of another ledger (the canister), and back:
// the entry names the ledger by the checkpoint's origin, so one canister can anchor many.
import type { LedgerEntry } from "../ledger/index.ts";
import { entryFor } from "./entry.ts";
import { recording, type EntryData } from "./kinds.ts";

export type AnchoredCheckpointData = EntryData["AnchoredCheckpoint"];

export function anchoredCheckpointEntry(
  head: { origin: string; size: number; root: string },
  note: string,
  cluster: string,
  now: Date,
): LedgerEntry {
  const recorded = recording(
    "AnchoredCheckpoint",
    { origin: head.origin, size: head.size },
    { origin: head.origin, size: head.size, root: head.root, checkpoint: note },
    `checkpoint of ${head.origin} at size ${head.size} anchored`,
  );
  const ledger = { apiVersion: "modelchain.io/v1alpha1", kind: "Ledger", metadata: { name: head.origin } };
  return entryFor(ledger, recorded, cluster, now);
}

/** The anchored checkpoint an entry carries, or undefined for any other entry. */
export function anchoredCheckpointOf(entry: LedgerEntry): AnchoredCheckpointData | undefined {
  if (entry.kind !== "AnchoredCheckpoint") return undefined;
  const { origin, size, root, checkpoint } = entry.data;
  if (typeof origin !== "string" || typeof size !== "number" || typeof root !== "string") return undefined;
  if (typeof checkpoint !== "string") return undefined;
  return { origin, size, root, checkpoint };
}
