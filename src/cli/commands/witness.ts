// `modelchain witness`: what a third party runs to vouch for a file ledger it does not operate.
// It fetches the published checkpoint (the operator's HTTP port or the ledger directory), checks
// the log's signature, checks with a consistency proof that it extends the last checkpoint this
// witness co-signed (kept in its own state directory), and only then co-signs it with its own
// ed25519 key as a C2SP cosignature (cosignature/v1, a note signature with a timestamp).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import {
  addSignature,
  COSIGNATURE_V1,
  cosignNote,
  ed25519PrivateKey,
  formatNote,
  noteVerifier,
  SignedNoteError,
  vkeyOf,
} from "../../ledger/index.ts";
import { writeDurably } from "../../ledger/file/durable-file.ts";
import { CheckFailedError, CliInputError } from "../output.ts";
import { readInput } from "../input.ts";
import { checkNewerExtends, checkpointSource, logKeyOf, openNote } from "./checkpoint-source.ts";

interface WitnessFlags {
  from?: string;
  key: string;
  name: string;
  stateDir?: string;
  logKey?: string;
  out?: string;
  printVkey?: boolean;
}

function witnessKey(flags: WitnessFlags) {
  try {
    return ed25519PrivateKey(readInput(flags.key), `--key ${flags.key}`);
  } catch (e: unknown) {
    if (e instanceof SignedNoteError) throw new CliInputError(e.message, { cause: e });
    throw e;
  }
}

const stateFile = (dir: string, origin: string): string =>
  join(dir, `${origin.replace(/[^A-Za-z0-9._-]/g, "_")}.note`);

async function witness(flags: WitnessFlags): Promise<void> {
  const key = witnessKey(flags);
  if (flags.printVkey === true) {
    process.stdout.write(`${vkeyOf(noteVerifier(flags.name, COSIGNATURE_V1, key))}\n`);
    return;
  }
  if (flags.from === undefined || flags.stateDir === undefined)
    throw new CliInputError("witness needs --from <url|dir> and --state-dir <dir>");
  const source = checkpointSource(flags.from);
  const log = logKeyOf(source, flags.logKey);
  const latest = openNote(await source.latestNote(), log, `${source.describe} checkpoint`);
  mkdirSync(flags.stateDir, { recursive: true });
  const state = stateFile(flags.stateDir, latest.head.origin);
  if (existsSync(state)) {
    const kept = openNote(readFileSync(state, "utf8"), log, state);
    try {
      await checkNewerExtends(source, kept.head, latest.head);
    } catch (e: unknown) {
      if (e instanceof CheckFailedError)
        throw new CheckFailedError(`witness ${flags.name}: not co-signing: ${e.message}`, { cause: e });
      throw e;
    }
  }
  const time = Math.floor(Date.now() / 1000);
  const cosigned = formatNote(addSignature(latest.note, cosignNote(latest.note.body, flags.name, key, time)));
  writeDurably(state, cosigned, "replace");
  if (flags.out !== undefined) writeDurably(flags.out, cosigned, "replace");
  process.stdout.write(cosigned);
}

export function registerWitnessCommand(program: Command): void {
  program
    .command("witness")
    .description(
      "co-sign a file ledger's published checkpoint once it is proven to extend the last one this witness co-signed; exit 1 on a fork",
    )
    .option("--from <url|dir>", "the operator's http(s)://host:port, or the ledger directory")
    .requiredOption("--key <pem>", "this witness's ed25519 private key (modelchain keygen)")
    .requiredOption("--name <name>", "this witness's key name, e.g. witness.example.com/w1")
    .option("--state-dir <dir>", "where this witness keeps the last checkpoint it co-signed, per log")
    .option("--log-key <vkey>", "the log's note verifier key; default: the directory's ledger.json")
    .option("--out <file>", "also write the co-signed checkpoint here")
    .option("--print-vkey", "print this witness's verifier key (for verify --witness-key) and exit")
    .action(witness);
}
