// Ledger commands: append, show, root, proof, consistency, checkpoint (the auditor's verify
// commands are in ledger-verify.ts). Readers open the ledger read-only, so they run beside a
// live operator.
import { Option, type Command } from "commander";
import { EntryValidationError, openLedger, type Ledger } from "../../ledger/index.ts";
import { readJson } from "../input.ts";
import { CliInputError, outputOption, parseIndex, printResult, type OutputFormat } from "../output.ts";

const ledgerOption = () =>
  new Option("--ledger <url>", "ledger directory, or ic://<canister-id>?host=<url>")
    .env("MODELCHAIN_LEDGER")
    .makeOptionMandatory();

export async function withLedger<T>(
  url: string,
  readOnly: boolean,
  use: (ledger: Ledger) => Promise<T>,
): Promise<T> {
  const ledger = await openLedger(url, { readOnly });
  try {
    return await use(ledger);
  } finally {
    await ledger.close();
  }
}

function registerAppend(program: Command): void {
  program
    .command("append")
    .description("append an entry (JSON object, or an array for a batch) and print its receipt")
    .addOption(ledgerOption())
    .option("-f, --file <file>", "entry JSON (default: standard input)")
    .addOption(outputOption())
    .action(async (opts: { ledger: string; file?: string; output: OutputFormat }) => {
      const input = readJson(opts.file);
      const batch = Array.isArray(input) ? input : [input];
      const receipts = await withLedger(opts.ledger, false, async (ledger) => {
        try {
          return await ledger.append(batch);
        } catch (e: unknown) {
          if (e instanceof EntryValidationError) throw new CliInputError(e.message, { cause: e });
          throw e;
        }
      });
      printResult(Array.isArray(input) ? receipts : receipts[0], opts.output);
    });
}

function registerShow(program: Command): void {
  program
    .command("show")
    .description("show one entry; --raw writes exactly the leaf's bytes")
    .addOption(ledgerOption())
    .requiredOption("--index <i>", "entry index", parseIndex("--index"))
    .option("--raw", "write the leaf bytes (the input of its leaf hash) and nothing else")
    .addOption(outputOption())
    .action(async (opts: { ledger: string; index: number; raw?: boolean; output: OutputFormat }) => {
      const leaf = await withLedger(opts.ledger, true, (l) => l.get(opts.index));
      if (opts.raw) {
        process.stdout.write(leaf.leaf);
        return;
      }
      const { entry, recordedAt, recordedBy } = leaf.envelope;
      printResult({ index: leaf.index, leafHash: leaf.leafHash, recordedAt, recordedBy, entry }, opts.output);
    });
}

function registerRootAndProofs(program: Command): void {
  program
    .command("root")
    .description("print the tree size and root")
    .addOption(ledgerOption())
    .option("--size <n>", "root of the first n entries", parseIndex("--size"))
    .addOption(outputOption())
    .action(async (opts: { ledger: string; size?: number; output: OutputFormat }) => {
      const head = await withLedger(opts.ledger, true, async (l) => {
        const size = opts.size ?? (await l.size());
        return { size, root: await l.root(size) };
      });
      printResult(head, opts.output);
    });
  program
    .command("proof")
    .description("print an RFC 6962 inclusion proof for one entry")
    .addOption(ledgerOption())
    .requiredOption("--index <i>", "entry index", parseIndex("--index"))
    .option("--size <n>", "tree size to prove against (default: current)", parseIndex("--size"))
    .addOption(outputOption())
    .action(async (opts: { ledger: string; index: number; size?: number; output: OutputFormat }) => {
      printResult(
        await withLedger(opts.ledger, true, (l) => l.inclusionProof(opts.index, opts.size)),
        opts.output,
      );
    });
  program
    .command("consistency")
    .description("print an RFC 6962 consistency proof between two tree sizes")
    .addOption(ledgerOption())
    .requiredOption("--from <m>", "older tree size", parseIndex("--from"))
    .option("--to <n>", "newer tree size (default: current)", parseIndex("--to"))
    .addOption(outputOption())
    .action(async (opts: { ledger: string; from: number; to?: number; output: OutputFormat }) => {
      printResult(
        await withLedger(opts.ledger, true, (l) => l.consistencyProof(opts.from, opts.to)),
        opts.output,
      );
    });
}

export function registerLedgerCommands(program: Command): void {
  registerAppend(program);
  registerShow(program);
  registerRootAndProofs(program);
}
