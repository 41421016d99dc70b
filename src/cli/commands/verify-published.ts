// What `verify` checks of a file ledger beyond its own files: every checkpoint it published
// (checkpoints/*.note) is signed by its key and extended by it, witnesses' co-signatures reach
// the quorum on a checkpoint it extends, and (anchor.ts) every root anchored on the IC.
import { readFileSync } from "node:fs";
import {
  checkExtends,
  COSIGNATURE_V1,
  FileLedger,
  ForkDetectedError,
  publishedSizes,
  readPublishedNoteAt,
  verifiedSignature,
  SignedNoteError,
  type NoteVerifier,
  type SignedCheckpoint,
  type TreeHead,
} from "../../ledger/index.ts";
import { CheckFailedError, CliInputError } from "../output.ts";
import { checkpointSource, openNote, parsedVkey } from "./checkpoint-source.ts";
import { checkAnchors } from "./anchor.ts";

/** The local ledger must extend `signed`; a contradiction names both heads. */
async function extendedByLocal(local: FileLedger, signed: TreeHead, what: string): Promise<void> {
  const size = await local.size();
  const head = { origin: signed.origin, size, root: await local.root() };
  const proof =
    signed.size === 0 || signed.size > size ? [] : (await local.consistencyProof(signed.size, size)).proof;
  try {
    checkExtends(signed, head, proof);
  } catch (e: unknown) {
    if (!(e instanceof ForkDetectedError)) throw e;
    throw new CheckFailedError(
      `${what}: the ledger (size ${size}, root ${head.root}) does not extend it: ${e.message}`,
      { cause: e },
    );
  }
}

/** Every published checkpoint, by the ledger's key, extended by the ledger. */
export async function checkPublishedHistory(dir: string, local: FileLedger): Promise<string> {
  const log = checkpointSource(dir).logKey();
  const sizes = publishedSizes(dir);
  if (log === undefined || sizes.length === 0) return "no published checkpoints";
  for (const size of sizes) {
    const what = `published checkpoint ${dir}/checkpoints at size ${size}`;
    const { head } = openNote(readPublishedNoteAt(dir, size) ?? "", log, what);
    if (head.size !== size) throw new CheckFailedError(`${what}: the note signs size ${head.size}`);
    await extendedByLocal(local, head, what);
  }
  return `${sizes.length} published checkpoint(s) extended`;
}

export interface WitnessPolicy {
  keys: string[];
  quorum?: number;
  cosigned: string[];
}

function witnessVerifiers(policy: WitnessPolicy): { verifiers: NoteVerifier[]; quorum: number } {
  const verifiers = policy.keys.map((k) => parsedVkey(k, "--witness-key"));
  for (const v of verifiers)
    if (v.type !== COSIGNATURE_V1)
      throw new CliInputError(
        `--witness-key ${v.name}: want a cosigner key (type 0x04, modelchain witness --print-vkey)`,
      );
  const quorum = policy.quorum ?? verifiers.length;
  if (quorum < 1 || quorum > verifiers.length)
    throw new CliInputError(
      `--witness-quorum ${quorum}: want 1 to ${verifiers.length} (the --witness-key count)`,
    );
  if (policy.cosigned.length === 0)
    throw new CliInputError("--witness-key needs --cosigned <file…> (what the witnesses wrote)");
  return { verifiers, quorum };
}

/** Which of the witnesses co-signed this checkpoint, validly. */
function cosigners(signed: SignedCheckpoint, verifiers: NoteVerifier[], file: string): string[] {
  return verifiers.flatMap((v) => {
    try {
      return verifiedSignature(signed.note, v) === undefined ? [] : [v.name];
    } catch (e: unknown) {
      if (e instanceof SignedNoteError) throw new CheckFailedError(`${file}: ${e.message}`, { cause: e });
      throw e;
    }
  });
}

interface Cosigned {
  signed: SignedCheckpoint;
  by: Set<string>;
}

/** The co-signed files grouped by checkpoint: one witness's file and another's count together. */
async function gatherCosigned(
  local: FileLedger,
  log: NoteVerifier,
  verifiers: NoteVerifier[],
  files: string[],
): Promise<Cosigned[]> {
  const byBody = new Map<string, Cosigned>();
  for (const file of files) {
    const signed = openNote(readFileSync(file, "utf8"), log, file);
    const by = cosigners(signed, verifiers, file);
    if (by.length > 0) await extendedByLocal(local, signed.head, `${file} (co-signed by ${by.join(", ")})`);
    const seen = byBody.get(signed.note.body) ?? { signed, by: new Set<string>() };
    for (const name of by) seen.by.add(name);
    byBody.set(signed.note.body, seen);
  }
  return [...byBody.values()];
}

/** The largest checkpoint that M of the N witnesses co-signed, which the ledger must extend. */
export async function checkWitnessQuorum(
  local: FileLedger,
  log: NoteVerifier,
  policy: WitnessPolicy,
): Promise<string> {
  const { verifiers, quorum } = witnessVerifiers(policy);
  const all = await gatherCosigned(local, log, verifiers, policy.cosigned);
  const bySize = (a: Cosigned, b: Cosigned): number => b.signed.head.size - a.signed.head.size;
  const [trusted] = all.filter((c) => c.by.size >= quorum).sort(bySize);
  if (trusted === undefined) {
    const [best] = [...all].sort((a, b) => b.by.size - a.by.size || bySize(a, b));
    const seen =
      best === undefined
        ? "none"
        : `size ${best.signed.head.size} root ${best.signed.head.root} co-signed by ${best.by.size === 0 ? "nobody" : [...best.by].join(", ")}`;
    throw new CheckFailedError(
      `witness quorum not met: want ${quorum} of ${verifiers.length} co-signatures on one checkpoint; the most: ${seen}`,
    );
  }
  const { head } = trusted.signed;
  return `size ${head.size} root ${head.root} co-signed by ${trusted.by.size} of ${verifiers.length} witnesses (${[...trusted.by].join(", ")}; quorum ${quorum})`;
}

export interface BeyondFlags {
  anchor?: string;
  witnessKey?: string[];
  witnessQuorum?: number;
  cosigned?: string[];
}

/** The lines `verify` adds for a file ledger: its published history, the witnesses, the anchor. */
export async function verifyBeyondFiles(dir: string, flags: BeyondFlags): Promise<string[]> {
  const lines: string[] = [];
  const local = await FileLedger.open(dir, { readOnly: true });
  try {
    lines.push(`ok: ${await checkPublishedHistory(dir, local)}`);
    if (flags.witnessKey !== undefined) {
      const log = checkpointSource(dir).logKey();
      if (log === undefined)
        throw new CheckFailedError(`${dir}: no ledger.json, so no log key to check notes with`);
      const policy = { keys: flags.witnessKey, cosigned: flags.cosigned ?? [], quorum: flags.witnessQuorum };
      lines.push(`ok: witnesses: ${await checkWitnessQuorum(local, log, policy)}`);
    }
  } finally {
    await local.close();
  }
  if (flags.anchor !== undefined) lines.push(`ok: anchor: ${await checkAnchors(dir, flags.anchor)}`);
  return lines;
}
