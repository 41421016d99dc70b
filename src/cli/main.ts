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
import { EntryValidationError } from "../ledger/entry.ts";
import { HexDecodeError } from "../ledger/hash.ts";
import { ProofInputError } from "../ledger/merkle.ts";
import { LedgerUrlError } from "../ledger/errors.ts";
import { LedgerOpenFailed } from "../ledger/file/errors.ts";
import { DEFAULT_YAML_MAX_BYTES, YamlInputRefused } from "../webhook/yaml-limits.ts";

type Register = (program: Command) => void;

/**
 * Each command module, by the top-level commands it registers, in help order. Only the module of
 * the command asked for is loaded (a cold start of every module, the Kubernetes client among
 * them, costs seconds); help, an unknown or a missing command load them all.
 */
const COMMAND_MODULES: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  {
    names: ["append", "show", "root", "proof", "consistency"],
    load: async () => (await import("./commands/ledger.ts")).registerLedgerCommands,
  },
  {
    names: ["checkpoint"],
    load: async () => (await import("./commands/checkpoint.ts")).registerCheckpointCommand,
  },
  { names: ["witness"], load: async () => (await import("./commands/witness.ts")).registerWitnessCommand },
  {
    names: ["verify", "verify-proof", "verify-consistency"],
    load: async () => (await import("./commands/ledger-verify.ts")).registerVerifyCommands,
  },
  {
    names: ["keygen", "sign", "reinstate"],
    load: async () => (await import("./commands/keys.ts")).registerKeyCommands,
  },
  {
    names: ["lineage-check"],
    load: async () => (await import("./commands/lineage-check.ts")).registerLineageCheck,
  },
  {
    names: ["operator", "cluster-info"],
    load: async () => {
      const m = await import("./commands/operator.ts");
      return (program) => {
        m.registerOperatorCommand(program);
        m.registerClusterInfoCommand(program);
      };
    },
  },
  { names: ["history"], load: async () => (await import("./commands/history.ts")).registerHistoryCommand },
  { names: ["bom"], load: async () => (await import("./commands/bom.ts")).registerBomCommand },
  { names: ["demo"], load: async () => (await import("./commands/demo.ts")).registerDemoCommand },
  { names: ["webhook"], load: async () => (await import("./commands/webhook.ts")).registerWebhookCommand },
  { names: ["check"], load: async () => (await import("./commands/check.ts")).registerCheckCommand },
  {
    names: ["artifact"],
    load: async () => (await import("./commands/artifact.ts")).registerArtifactCommands,
  },
  { names: ["import"], load: async () => (await import("./commands/import.ts")).registerImportCommand },
];

/** The top-level command argv names, past the program's own options; undefined when there is none. */
export function commandName(argv: readonly string[]): string | undefined {
  let valueNext = false;
  for (const [i, arg] of argv.entries()) {
    if (valueNext) valueNext = false;
    else if (arg === "--") return argv[i + 1];
    else if (arg === MAX_INPUT_BYTES_FLAG) valueNext = true;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/** The program with the commands argv needs (every command when argv names none of them). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("modelchain")
    .description("Verifiable model lineage and rollout ledger for Kubernetes")
    .version("0.1.0")
    // Program options only before the command (as commandName reads them), so that a command's
    // own --version (`import mlflow --model M --version 3`) is not the program's.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride()
    .option(
      `${MAX_INPUT_BYTES_FLAG} <bytes>`,
      "largest YAML input read (a file, standard input, each manifest of --source dir:); lines, tokens and alias expansion are bounded with it",
      parseAtLeast(MAX_INPUT_BYTES_FLAG, 1024, "no manifest fits in less"),
      DEFAULT_YAML_MAX_BYTES,
    )
    .hook("preAction", (root) => setInputLimit(root.opts<{ maxInputBytes: number }>().maxInputBytes));
  const name = commandName(argv);
  const asked = COMMAND_MODULES.find((m) => name !== undefined && m.names.includes(name));
  const registers = await Promise.all((asked === undefined ? COMMAND_MODULES : [asked]).map((m) => m.load()));
  for (const register of registers) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv, { from: "user" });
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

export function reportFailure(e: unknown): number {
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
