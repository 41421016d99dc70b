// The file ledger's published checkpoints as C2SP checkpoints (c2sp.org/tlog-checkpoint): the
// origin line, the tree size in decimal, the root hash in base64, signed as a note by the
// ledger's ed25519 key under the origin's name. The origin is "modelchain.io/ledger/<key id>",
// so it names one ledger and no other, as the spec asks.
import type { KeyObject } from "node:crypto";
import { LedgerError } from "./errors.ts";
import { hashFromHex, HexDecodeError } from "./hash.ts";
import { ProofInputError, RootMismatchError } from "./merkle.ts";
import {
  ED25519,
  noteVerifier,
  parseNote,
  signNote,
  formatNote,
  verifiedSignature,
  SignedNoteError,
  type Note,
  type NoteVerifier,
} from "./signed-note.ts";
import { verifyExtends } from "./verify.ts";

export interface TreeHead {
  origin: string;
  size: number;
  /** Lowercase hex. */
  root: string;
}

export interface SignedCheckpoint {
  head: TreeHead;
  note: Note;
}

export const originOf = (keyId: string): string => `modelchain.io/ledger/${keyId}`;

export const logVerifier = (origin: string, publicKey: KeyObject): NoteVerifier =>
  noteVerifier(origin, ED25519, publicKey);

export function checkpointBody(head: TreeHead): string {
  return `${head.origin}\n${head.size}\n${Buffer.from(head.root, "hex").toString("base64")}\n`;
}

/** The first three lines; extension lines after them are allowed by the spec and ignored here. */
export function parseCheckpointBody(body: string): TreeHead {
  const [origin, size, root] = body.split("\n");
  if (origin === undefined || origin.length === 0) throw new SignedNoteError("checkpoint has no origin line");
  if (size === undefined || !/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new SignedNoteError(`checkpoint size line ${JSON.stringify(size)} is not a decimal tree size`);
  const rootBytes = Buffer.from(root ?? "", "base64");
  if (rootBytes.byteLength !== 32 || rootBytes.toString("base64") !== root)
    throw new SignedNoteError(`checkpoint root line ${JSON.stringify(root)} is not base64 of 32 bytes`);
  return { origin, size: Number(size), root: rootBytes.toString("hex") };
}

export function signCheckpointNote(head: TreeHead, privateKey: KeyObject): string {
  const body = checkpointBody(head);
  return formatNote({ body, signatures: [signNote(body, head.origin, privateKey)] });
}

/** Parses a checkpoint note and checks the log's signature on it; its origin must be the log's. */
export function openCheckpointNote(text: string, log: NoteVerifier): SignedCheckpoint {
  const note = parseNote(text);
  const head = parseCheckpointBody(note.body);
  if (head.origin !== log.name)
    throw new SignedNoteError(`checkpoint origin ${head.origin} is not the log's ${log.name}`);
  if (verifiedSignature(note, log) === undefined)
    throw new SignedNoteError(
      `checkpoint at size ${head.size} carries no signature by ${log.name} (${log.keyHash})`,
    );
  return { head, note };
}

const describe = (h: TreeHead): string => `size ${h.size} root ${h.root}`;

/**
 * Two signed heads of one log that no consistency proof joins: the log showed different
 * histories (a split view), or rewrote its own.
 */
export class ForkDetectedError extends LedgerError {
  readonly older: TreeHead;
  readonly newer: TreeHead;
  constructor(older: TreeHead, newer: TreeHead, reason: string) {
    super(
      `fork: the checkpoint at ${describe(older)} and the one at ${describe(newer)} are not one history: ${reason}`,
    );
    this.name = "ForkDetectedError";
    this.older = older;
    this.newer = newer;
  }
}

/** That `newer` extends `older`, by `proof` (hex); otherwise the fork with both heads. */
export function checkExtends(older: TreeHead, newer: TreeHead, proof: readonly string[]): void {
  if (newer.size < older.size) throw new ForkDetectedError(older, newer, "the newer tree is smaller");
  if (newer.size === older.size) {
    if (newer.root !== older.root) throw new ForkDetectedError(older, newer, "same size, different roots");
    return;
  }
  try {
    verifyExtends(
      older.size,
      newer.size,
      proof.map((h, i) => hashFromHex(h, `proof[${i}]`)),
      hashFromHex(older.root, "older root"),
      hashFromHex(newer.root, "newer root"),
    );
  } catch (e: unknown) {
    if (e instanceof RootMismatchError || e instanceof ProofInputError || e instanceof HexDecodeError)
      throw new ForkDetectedError(older, newer, `the consistency proof fails (${e.message})`);
    throw e;
  }
}
