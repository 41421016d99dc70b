// `modelchain checkpoint`: the latest published checkpoint of a file ledger, verified, read
// without the write lock (from the directory or the operator's HTTP port); a fresh one is signed
// only when the directory has moved past it and no writer holds the lock, or with --sign. With
// --kept the reader holds on to the last checkpoint it saw and reports a fork, with both heads,
// when the published one does not extend it.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import {
  FileLedger,
  LedgerLockedError,
  parseLedgerUrl,
  vkeyOf,
  verifyCheckpoint,
  type Checkpoint,
  type NoteVerifier,
  type SignedCheckpoint,
} from "../../ledger/index.ts";
import { readIdentity, trustOf } from "../../ledger/file/identity.ts";
import { readLatestCheckpoint } from "../../ledger/file/keys.ts";
import { CheckFailedError, outputOption, printResult, type OutputFormat } from "../output.ts";
import { withLedger } from "./ledger.ts";
import {
  checkNewerExtends,
  checkpointSource,
  isHttp,
  logKeyOf,
  openNote,
  type CheckpointSource,
} from "./checkpoint-source.ts";

interface CheckpointFlags {
  ledger: string;
  sign?: boolean;
  published?: boolean;
  kept?: string;
  logKey?: string;
  note?: boolean;
  output: OutputFormat;
}

/** The latest JSON checkpoint of the directory, checked against its ledger.json and its own note. */
export function latestPublished(dir: string, log: NoteVerifier): Checkpoint | undefined {
  const latest = readLatestCheckpoint(dir);
  if (latest?.note === undefined) return undefined;
  try {
    verifyCheckpoint(latest, trustOf(readIdentity(dir)));
  } catch (e: unknown) {
    throw new CheckFailedError(`${dir}/checkpoint.json: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const { head } = openNote(latest.note, log, `${dir}/checkpoint.json note`);
  if (head.size !== latest.size || head.root !== latest.root)
    throw new CheckFailedError(
      `${dir}/checkpoint.json: its note signs size ${head.size} root ${head.root}, not size ${latest.size} root ${latest.root}`,
    );
  return latest;
}

async function fromDirectory(dir: string, flags: CheckpointFlags, log: NoteVerifier): Promise<Checkpoint> {
  if (flags.sign !== true) {
    const reader = await FileLedger.open(dir, { readOnly: true });
    const size = await reader.size().finally(() => reader.close());
    const latest = latestPublished(dir, log);
    if (latest !== undefined && (latest.size >= size || flags.published === true)) return latest;
    if (flags.published === true) throw new CheckFailedError(`${dir}: no checkpoint published yet`);
  }
  try {
    return await withLedger(dir, false, (l) => l.checkpoint());
  } catch (e: unknown) {
    const latest =
      e instanceof LedgerLockedError && flags.sign !== true ? latestPublished(dir, log) : undefined;
    if (latest === undefined) throw e;
    process.stderr.write(
      `${e instanceof Error ? e.message : String(e)}: printing the latest checkpoint it published\n`,
    );
    return latest;
  }
}

function readKept(file: string, log: NoteVerifier): SignedCheckpoint | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const note = text.trimStart().startsWith("{") ? (JSON.parse(text) as { note?: unknown }).note : text;
  if (typeof note !== "string") throw new CheckFailedError(`${file}: holds no checkpoint note`);
  return openNote(note, log, file);
}

/** The kept head must be extended by the latest; the kept file then moves on to the latest. */
async function checkKept(
  file: string,
  source: CheckpointSource,
  log: NoteVerifier,
  latest: SignedCheckpoint,
  text: string,
): Promise<void> {
  const kept = readKept(file, log);
  if (kept !== undefined) await checkNewerExtends(source, kept.head, latest.head);
  if (kept === undefined || latest.head.size > kept.head.size) {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  }
}

async function runCheckpoint(flags: CheckpointFlags): Promise<void> {
  if (!isHttp(flags.ledger) && parseLedgerUrl(flags.ledger).backend === "ic") {
    printResult(await withLedger(flags.ledger, false, (l) => l.checkpoint()), flags.output);
    return;
  }
  const source = checkpointSource(isHttp(flags.ledger) ? flags.ledger : parseLedgerDir(flags.ledger));
  const log = logKeyOf(source, flags.logKey);
  let result: Checkpoint | { size: number; root: string; note: string };
  if (isHttp(flags.ledger)) {
    const note = await source.latestNote();
    const { head } = openNote(note, log, `${flags.ledger}/checkpoint`);
    result = { size: head.size, root: head.root, note };
  } else result = await fromDirectory(source.describe, flags, log);
  const note = result.note ?? "";
  if (flags.kept !== undefined)
    await checkKept(flags.kept, source, log, openNote(note, log, "checkpoint"), note);
  if (flags.note === true) process.stdout.write(note);
  else printResult({ ...result, logKey: vkeyOf(log) }, flags.output);
}

function parseLedgerDir(url: string): string {
  const location = parseLedgerUrl(url);
  return location.backend === "file" ? location.dir : url;
}

export function registerCheckpointCommand(program: Command): void {
  program
    .command("checkpoint")
    .description(
      "print the latest published checkpoint, verified, without the write lock (signing a new one only when the ledger moved past it and no writer runs)",
    )
    .addOption(
      new Option(
        "--ledger <url>",
        "ledger directory, the operator's http(s)://host:port, or ic://<canister-id>?host=<url>",
      )
        .env("MODELCHAIN_LEDGER")
        .makeOptionMandatory(),
    )
    .option("--sign", "sign a new checkpoint now (takes the write lock: refused while a writer runs)")
    .option("--published", "only the published checkpoint: never take the write lock")
    .option(
      "--kept <file>",
      "the checkpoint this reader kept (made on first use): the published one must extend it, or exit 1 reporting a fork; then it is replaced by the published one",
    )
    .option(
      "--log-key <vkey>",
      "the log's note verifier key (printed as logKey); default: the directory's ledger.json",
    )
    .option("--note", "print the C2SP checkpoint note instead of JSON")
    .addOption(outputOption())
    .action(runCheckpoint);
}
