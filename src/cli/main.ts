// modelchain command line. Each command lives in commands/<name>.ts and registers itself.
import { Command, CommanderError } from "commander";
import {
  CheckFailedError,
  CliInputError,
  EXIT_BAD_INPUT,
  EXIT_CHECK_FAILED,
  parseAtLeast,
} from "./output.ts";
import { MAX_INPUT_BYTES_FLAG, setInputLimit } from "./input.ts";
import { registerLedgerCommands } from "./commands/ledger.ts";
import { registerCheckpointCommand } from "./commands/checkpoint.ts";
import { registerWitnessCommand } from "./commands/witness.ts";
import { registerVerifyCommands } from "./commands/ledger-verify.ts";
import { registerKeyCommands } from "./commands/keys.ts";
import { registerLineageCheck } from "./commands/lineage-check.ts";
import { registerClusterInfoCommand, registerOperatorCommand } from "./commands/operator.ts";
import { registerHistoryCommand } from "./commands/history.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerWebhookCommand } from "./commands/webhook.ts";
import { registerCheckCommand } from "./commands/check.ts";
import { registerArtifactCommands } from "./commands/artifact.ts";
import { EntryValidationError, HexDecodeError, LedgerUrlError, ProofInputError } from "../ledger/index.ts";
import { LedgerOpenFailed } from "../ledger/file/index.ts";
import { DEFAULT_YAML_MAX_BYTES, YamlInputRefused } from "../webhook/index.ts";

export function buildProgram(): Command {
  const program = new Command("modelchain")
    .description("Verifiable model lineage and rollout ledger for Kubernetes")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .option(
      `${MAX_INPUT_BYTES_FLAG} <bytes>`,
      "largest YAML input read (a file, standard input, each manifest of --source dir:); lines, tokens and alias expansion are bounded with it",
      parseAtLeast(MAX_INPUT_BYTES_FLAG, 1024, "no manifest fits in less"),
      DEFAULT_YAML_MAX_BYTES,
    )
    .hook("preAction", (root) => setInputLimit(root.opts<{ maxInputBytes: number }>().maxInputBytes));
  registerLedgerCommands(program);
  registerCheckpointCommand(program);
  registerWitnessCommand(program);
  registerVerifyCommands(program);
  registerKeyCommands(program);
  registerLineageCheck(program);
  registerOperatorCommand(program);
  registerClusterInfoCommand(program);
  registerHistoryCommand(program);
  registerDemoCommand(program);
  registerWebhookCommand(program);
  registerCheckCommand(program);
  registerArtifactCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e: unknown) {
    return reportFailure(e);
  }
}

/** Errors that mean the user asked for something malformed or impossible: exit 2. */
function isBadInput(e: unknown): boolean {
  return [
    CliInputError,
    EntryValidationError,
    ProofInputError,
    LedgerUrlError,
    LedgerOpenFailed,
    HexDecodeError,
    YamlInputRefused,
  ].some((type) => e instanceof type);
}

function reportFailure(e: unknown): number {
  if (e instanceof CommanderError) {
    // --help and --version end through here with exit code 0.
    return e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  }
  if (e instanceof CheckFailedError) {
    process.stderr.write(`modelchain: ${e.message}\n`);
    return EXIT_CHECK_FAILED;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`modelchain: ${message}\n`);
  return isBadInput(e) ? EXIT_BAD_INPUT : EXIT_CHECK_FAILED;
}
