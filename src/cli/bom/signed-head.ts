// The signed tree head a BOM's proven head is tied to: a file ledger's latest published checkpoint
// (its C2SP note, signed by the ledger's key, at or before the head), or the IC's certified tip (at or
// after it), with the consistency proof between the two, checked before it is written down.
import {
  hashFromHex,
  parseLedgerUrl,
  verifyConsistency,
  type Ledger,
  type LedgerLocation,
} from "../../ledger/index.ts";
import { latestPublished } from "../commands/checkpoint.ts";
import { checkpointSource } from "../commands/checkpoint-source.ts";
import { CheckFailedError } from "../output.ts";
import type { ProvenHead, SignedHead } from "./ledger-properties.ts";

class SignedHeadMismatch extends CheckFailedError {
  constructor(message: string) {
    super(`bom: ${message}`);
    this.name = "SignedHeadMismatch";
  }
}

type Head = { size: number; root: string };

/** The consistency proof from the smaller head to the larger, verified; empty when they are one. */
async function consistency(ledger: Ledger, smaller: Head, larger: Head): Promise<string[]> {
  if (smaller.size === larger.size) {
    if (smaller.root !== larger.root)
      throw new SignedHeadMismatch(`two roots at size ${smaller.size}: ${smaller.root} and ${larger.root}`);
    return [];
  }
  if (smaller.size === 0) return [];
  const { proof } = await ledger.consistencyProof(smaller.size, larger.size);
  try {
    verifyConsistency(
      smaller.size,
      larger.size,
      proof.map((h) => hashFromHex(h)),
      hashFromHex(smaller.root),
      hashFromHex(larger.root),
    );
  } catch (e: unknown) {
    throw new SignedHeadMismatch(
      `the tree at size ${larger.size} does not extend the one at size ${smaller.size}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return proof;
}

async function publishedHead(dir: string, ledger: Ledger, head: ProvenHead): Promise<SignedHead | undefined> {
  const log = checkpointSource(dir).logKey();
  const c = log === undefined ? undefined : latestPublished(dir, log);
  // A checkpoint published after the head was audited speaks for entries the BOM does not hold.
  if (c?.note === undefined || c.size === 0 || c.size > head.size) return undefined;
  const signed = { size: c.size, root: c.root, keyId: c.keyId, timestamp: c.timestamp, note: c.note };
  return { ...signed, consistency: await consistency(ledger, signed, head) };
}

async function certifiedHead(ledger: Ledger, head: ProvenHead): Promise<SignedHead> {
  const tip = await ledger.checkpoint();
  if (tip.size < head.size)
    throw new SignedHeadMismatch(`the certified tip is at size ${tip.size}, behind the audited ${head.size}`);
  const signed = { size: tip.size, root: tip.root, keyId: tip.keyId, timestamp: tip.timestamp };
  return {
    ...signed,
    certificate: tip.signature,
    consistency: await consistency(ledger, head, signed),
  };
}

/** The signed head for `head`, when the ledger at `url` has one. */
export async function signedHead(
  url: string,
  ledger: Ledger,
  head: ProvenHead,
): Promise<SignedHead | undefined> {
  const location: LedgerLocation = parseLedgerUrl(url);
  return location.backend === "file"
    ? publishedHead(location.dir, ledger, head)
    : certifiedHead(ledger, head);
}
