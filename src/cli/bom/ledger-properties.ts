// Where a BOM says what the ledger proves: on each component, the entry that recorded it and the
// RFC 6962 inclusion proof (audit path, leaf to root) to the proven tree head; in the metadata,
// that head and the signed head it is tied to. Property values are strings (CycloneDX): hashes in
// hex, audit and consistency paths as comma-separated hex in RFC 6962 order.
import type * as Models from "@cyclonedx/cyclonedx-library/Models";
import type { ChainItem } from "../history/chain.ts";
import { props } from "./component-parts.ts";

/** The tree head every inclusion proof in the BOM leads to. */
export interface ProvenHead {
  backend: string;
  size: number;
  root: string;
  keyId: string | undefined;
}

/**
 * A head signed by the ledger's key (a file ledger's note) or certified by the IC, and how the
 * proven head relates to it.
 */
export interface SignedHead {
  size: number;
  root: string;
  keyId: string;
  timestamp: string;
  /** The C2SP signed note, as published (file ledgers). */
  note?: string;
  /** The IC certificate, base64 (ic ledgers). */
  certificate?: string;
  /** RFC 6962 consistency proof (hex) from the smaller of the two heads to the larger. */
  consistency: string[];
}

/** Which ledger entry recorded a component, and its proof to the head. */
export function ledgerProperties(item: ChainItem): Models.Property[] {
  return props([
    ["modelchain:ledger:entryIndex", String(item.index)],
    ["modelchain:ledger:entryKind", item.kind],
    ["modelchain:ledger:observedAt", item.observedAt],
    ["modelchain:ledger:leafHash", item.leafHash],
    ["modelchain:ledger:inclusionProof", item.auditPath.join(",")],
  ]);
}

/** The proven head, and the signed head with the consistency proof between them. */
export function metadataProperties(head: ProvenHead, signed: SignedHead | undefined): Models.Property[] {
  return props([
    ["modelchain:ledger:backend", head.backend],
    ["modelchain:ledger:keyId", head.keyId ?? ""],
    ["modelchain:ledger:treeSize", String(head.size)],
    ["modelchain:ledger:root", head.root],
    ...(signed === undefined
      ? []
      : ([
          ["modelchain:checkpoint:treeSize", String(signed.size)],
          ["modelchain:checkpoint:root", signed.root],
          ["modelchain:checkpoint:keyId", signed.keyId],
          ["modelchain:checkpoint:timestamp", signed.timestamp],
          ...(signed.note === undefined ? [] : [["modelchain:checkpoint:note", signed.note] as const]),
          ...(signed.certificate === undefined
            ? []
            : [["modelchain:checkpoint:certificate", signed.certificate] as const]),
          ["modelchain:checkpoint:consistencyProof", signed.consistency.join(",")],
        ] as const)),
  ]);
}
