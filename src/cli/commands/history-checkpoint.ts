// The signed checkpoint `history` shows beside a file ledger's entries: the latest one the
// writer published, checked against the ledger it was read from.
import { parseLedgerUrl, type Ledger } from "../../ledger/index.ts";
import type { History } from "../history/chain.ts";
import { CheckFailedError } from "../output.ts";
import { latestPublished } from "./checkpoint.ts";
import { checkpointSource } from "./checkpoint-source.ts";

/** A file ledger's latest published checkpoint, verified, that the ledger read extends. */
export async function publishedCheckpoint(url: string, ledger: Ledger): Promise<History["checkpoint"]> {
  const location = parseLedgerUrl(url);
  if (location.backend !== "file") return undefined;
  const log = checkpointSource(location.dir).logKey();
  const c = log === undefined ? undefined : latestPublished(location.dir, log);
  if (c === undefined || c.size > (await ledger.size())) return undefined;
  const root = await ledger.root(c.size);
  if (root !== c.root)
    throw new CheckFailedError(
      `the published checkpoint at size ${c.size} signs root ${c.root}; the ledger's root there is ${root}`,
    );
  return { size: c.size, root: c.root, keyId: c.keyId, timestamp: c.timestamp };
}
