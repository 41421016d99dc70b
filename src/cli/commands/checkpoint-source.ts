// Where a reader or a witness gets a file ledger's published checkpoint: the operator's HTTP
// port (`/checkpoint`, `/checkpoint/consistency?from=N`) or the ledger directory itself, read
// without the write lock. Every note is checked against the log's key before it is used.
import { createPublicKey } from "node:crypto";
import {
  checkExtends,
  ED25519,
  FileLedger,
  ForkDetectedError,
  logVerifier,
  openCheckpointNote,
  originOf,
  parseVkey,
  readPublishedNote,
  SignedNoteError,
  type NoteVerifier,
  type SignedCheckpoint,
  type TreeHead,
} from "../../ledger/index.ts";
import { readIdentity } from "../../ledger/file/identity.ts";
import { CheckFailedError, CliInputError } from "../output.ts";

export interface CheckpointSource {
  describe: string;
  /** The latest published note, unverified. */
  latestNote(): Promise<string>;
  /** The RFC 6962 proof (hex) that the tree at `to` extends the tree at `from`. */
  consistency(from: number, to: number): Promise<string[]>;
  /** The log's key when the source itself can vouch for it (a directory's ledger.json). */
  logKey(): NoteVerifier | undefined;
}

export const isHttp = (spec: string): boolean => /^https?:\/\//.test(spec);

class FetchCheckpointFailed extends CheckFailedError {
  constructor(what: string, problem: string) {
    super(`${what}: ${problem}`);
    this.name = "FetchCheckpointFailed";
  }
}

async function get(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e: unknown) {
    throw new FetchCheckpointFailed(url, e instanceof Error ? e.message : String(e));
  }
  const body = await response.text();
  if (!response.ok) throw new FetchCheckpointFailed(url, `HTTP ${response.status}: ${body.trim()}`);
  return body;
}

function httpSource(base: string): CheckpointSource {
  const root = base.replace(/\/+$/, "").replace(/\/checkpoint$/, "");
  return {
    describe: root,
    latestNote: async () => `${(await get(`${root}/checkpoint`)).trimEnd()}\n`,
    async consistency(from, to) {
      const url = `${root}/checkpoint/consistency?from=${from}`;
      const value: unknown = JSON.parse(await get(url));
      const proof = (value as { to?: unknown; proof?: unknown } | null) ?? {};
      if (proof.to !== to || !Array.isArray(proof.proof) || !proof.proof.every((h) => typeof h === "string"))
        throw new FetchCheckpointFailed(url, `not a consistency proof from ${from} to ${to}`);
      return proof.proof as string[];
    },
    logKey: () => undefined,
  };
}

function dirSource(dir: string): CheckpointSource {
  return {
    describe: dir,
    async latestNote() {
      const note = readPublishedNote(dir);
      if (note === undefined)
        throw new FetchCheckpointFailed(dir, "no checkpoint published (no checkpoint.note)");
      return note;
    },
    async consistency(from, to) {
      const ledger = await FileLedger.open(dir, { readOnly: true });
      try {
        return (await ledger.consistencyProof(from, to)).proof;
      } finally {
        await ledger.close();
      }
    },
    logKey() {
      const identity = readIdentity(dir);
      return identity === undefined
        ? undefined
        : logVerifier(originOf(identity.keyId), createPublicKey(identity.publicKey));
    },
  };
}

export const checkpointSource = (spec: string): CheckpointSource =>
  isHttp(spec) ? httpSource(spec) : dirSource(spec);

export function parsedVkey(vkey: string, flag: string): NoteVerifier {
  try {
    return parseVkey(vkey);
  } catch (e: unknown) {
    if (e instanceof SignedNoteError) throw new CliInputError(`${flag}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** The log's key: the vkey given, or the one the source's directory pins. */
export function logKeyOf(source: CheckpointSource, vkey: string | undefined): NoteVerifier {
  if (vkey !== undefined) {
    const v = parsedVkey(vkey, "--log-key");
    if (v.type !== ED25519) throw new CliInputError(`--log-key ${v.name}: want a log key (type 0x01)`);
    return v;
  }
  const pinned = source.logKey();
  if (pinned === undefined)
    throw new CliInputError(
      `${source.describe}: give the log's key with --log-key <vkey> (modelchain checkpoint prints it)`,
    );
  return pinned;
}

export function openNote(text: string, log: NoteVerifier, what: string): SignedCheckpoint {
  try {
    return openCheckpointNote(text, log);
  } catch (e: unknown) {
    if (e instanceof SignedNoteError) throw new CheckFailedError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** That `newer` extends `kept`, with a proof from the source; a fork names both heads. */
export async function checkNewerExtends(
  source: CheckpointSource,
  kept: TreeHead,
  newer: TreeHead,
): Promise<void> {
  const proof =
    kept.size === 0 || newer.size <= kept.size ? [] : await source.consistency(kept.size, newer.size);
  try {
    checkExtends(kept, newer, proof);
  } catch (e: unknown) {
    if (e instanceof ForkDetectedError) throw new CheckFailedError(e.message, { cause: e });
    throw e;
  }
}
