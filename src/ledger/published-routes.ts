// The published checkpoint over HTTP, read-only: `GET /checkpoint` is the latest C2SP
// checkpoint note as published in the ledger directory, `GET /checkpoint/consistency?from=N`
// the RFC 6962 proof that it extends the tree of size N (any size a reader kept).
import { parseCheckpointBody } from "./checkpoint-note.ts";
import type { Ledger } from "./ledger.ts";
import { parseNote } from "./signed-note.ts";
import { readPublishedNote } from "./file/published.ts";

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

const text = (status: number, body: string): HttpAnswer => ({
  status,
  contentType: "text/plain; charset=utf-8",
  body: `${body}\n`,
});

/** `from` as a tree size the published one can be proven to extend, or the reason it is not one. */
export function parseFrom(value: string | null, publishedSize: number): number | string {
  if (value === null) return "from=<tree size> is required";
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(Number(value)))
    return `from=${value} is not a tree size (a non-negative decimal integer)`;
  const from = Number(value);
  if (from === 0) return "from=0: every tree extends the empty tree, a proof from it means nothing";
  if (from > publishedSize) return `from=${from} is beyond the published checkpoint's size ${publishedSize}`;
  return from;
}

/**
 * Answers the checkpoint paths, undefined for any other. Proofs come from `live`, the writer's
 * open ledger; a process not writing (a standby) answers 503 for them.
 */
export function checkpointRoutes(
  dir: string,
  live: () => Ledger | undefined,
): (url: URL) => Promise<HttpAnswer | undefined> {
  return async (url) => {
    if (url.pathname !== "/checkpoint" && url.pathname !== "/checkpoint/consistency") return undefined;
    const note = readPublishedNote(dir);
    if (note === undefined) return text(404, "no checkpoint published yet");
    if (url.pathname === "/checkpoint") return text(200, note.trimEnd());
    const head = parseCheckpointBody(parseNote(note).body);
    const from = parseFrom(url.searchParams.get("from"), head.size);
    if (typeof from === "string") return text(400, from);
    const ledger = live();
    if (ledger === undefined) return text(503, "this replica does not hold the ledger (not the leader)");
    const proof = await ledger.consistencyProof(from, head.size);
    if (proof.toRoot !== head.root)
      return text(
        500,
        `the ledger's root at size ${head.size} is ${proof.toRoot}, the published ${head.root}`,
      );
    return { status: 200, contentType: "application/json", body: `${JSON.stringify(proof)}\n` };
  };
}
