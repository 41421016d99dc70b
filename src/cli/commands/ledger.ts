// Ledger commands: append, show, root, proof, consistency, checkpoint, verify, verify-proof.
// Readers open the ledger read-only, so they run beside a live operator.
import { Option, type Command } from "commander";
import {
  auditFileLedger,
  auditLedger,
  EntryValidationError,
  hashFromHex,
  hashLeaf,
  openLedger,
  parseCheckpoint,
  parseLedgerUrl,
  toHex,
  verifyAnyCheckpoint,
  verifyExtends,
  verifyInclusion,
  type Checkpoint,
  type Ledger,
} from "../../ledger/index.ts";
import { readInput, readJson } from "../input.ts";
import {
  CheckFailedError,
  CliInputError,
  outputOption,
  parseIndex,
  printResult,
  type OutputFormat,
} from "../output.ts";

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

const icRootKeyOption = () =>
  new Option(
    "--ic-root-key <hex>",
    "DER root key (hex) that ic checkpoints must chain to: a local replica's or PocketIC's (default: the IC mainnet key)",
  ).env("MODELCHAIN_IC_ROOT_KEY");

function parseRootKey(hex: string | undefined): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  if (!/^([0-9a-fA-F]{2})+$/.test(hex))
    throw new CliInputError("--ic-root-key must be hex (the DER-encoded BLS root key)");
  return new Uint8Array(Buffer.from(hex, "hex"));
}

const canisterOption = () =>
  new Option("--canister <id>", "the ledger canister the checkpoints must come from (ic checkpoints)");

async function checkCheckpoint(
  c: Checkpoint,
  file: string,
  icRootKey: Uint8Array | undefined,
  canister?: string,
): Promise<void> {
  if (canister !== undefined && c.keyId !== `ic:${canister}`)
    throw new CheckFailedError(`${file}: signed by ${c.keyId}, not by canister ${canister}`);
  try {
    await verifyAnyCheckpoint(c, icRootKey);
  } catch (e: unknown) {
    throw new CheckFailedError(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function loadCheckpoint(file: string): Checkpoint {
  try {
    return parseCheckpoint(readJson(file));
  } catch (e: unknown) {
    if (e instanceof CliInputError) throw e;
    throw new CliInputError(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
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

function registerCheckpoint(program: Command): void {
  program
    .command("checkpoint")
    .description("sign and print the current tree head")
    .addOption(ledgerOption())
    .addOption(outputOption())
    .action(async (opts: { ledger: string; output: OutputFormat }) => {
      printResult(await withLedger(opts.ledger, false, (l) => l.checkpoint()), opts.output);
    });
}

/** The deepest audit each backend has: the file ledger's on-disk one, or through the interface. */
export async function auditUrl(url: string, checkpoints: Checkpoint[] = [], icRootKey?: Uint8Array) {
  const location = parseLedgerUrl(url);
  if (location.backend === "file") return auditFileLedger(location.dir, checkpoints);
  return withLedger(url, true, (l) =>
    auditLedger(l, checkpoints, icRootKey === undefined ? {} : { icRootKey }),
  );
}

function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("re-hash every entry and check the tree and checkpoints; exit 1 naming the first bad entry")
    .addOption(ledgerOption())
    .option("--checkpoint <file...>", "checkpoints kept earlier: the ledger must still extend each")
    .addOption(icRootKeyOption())
    .action(async (opts: { ledger: string; checkpoint?: string[]; icRootKey?: string }) => {
      const result = await auditUrl(
        opts.ledger,
        (opts.checkpoint ?? []).map(loadCheckpoint),
        parseRootKey(opts.icRootKey),
      );
      if (result.problem !== undefined) {
        throw new CheckFailedError(
          `verify failed at entry ${result.problem.index}: ${result.problem.message}`,
        );
      }
      process.stdout.write(
        `ok: ${result.size} entries, root ${result.root}, ${result.checkpointsChecked} checkpoint(s) consistent\n`,
      );
    });
}

function parseProofFile(file: string): {
  index: number;
  size: number;
  leafHash: string;
  auditPath: string[];
  root: string;
} {
  const value = readJson(file);
  if (typeof value !== "object" || value === null) throw new CliInputError(`${file}: not a proof object`);
  const p = value as Record<string, unknown>;
  const { index, size, leafHash, auditPath, root } = p;
  if (typeof index !== "number" || typeof size !== "number")
    throw new CliInputError(`${file}: index and size must be numbers`);
  if (typeof leafHash !== "string" || typeof root !== "string")
    throw new CliInputError(`${file}: leafHash and root must be hex strings`);
  if (!Array.isArray(auditPath) || !auditPath.every((h) => typeof h === "string"))
    throw new CliInputError(`${file}: auditPath must be an array of hex strings`);
  return { index, size, leafHash, auditPath: auditPath as string[], root };
}

function registerVerifyProof(program: Command): void {
  program
    .command("verify-proof")
    .description("verify an inclusion proof offline, from the leaf bytes (show --raw), without the ledger")
    .requiredOption("--proof <file>", "proof JSON from `modelchain proof`")
    .requiredOption("--leaf <file>", "leaf bytes from `modelchain show --raw`")
    .option("--checkpoint <file>", "signed checkpoint the proof's root must match")
    .addOption(icRootKeyOption())
    .addOption(canisterOption())
    .action(
      async (opts: {
        proof: string;
        leaf: string;
        checkpoint?: string;
        icRootKey?: string;
        canister?: string;
      }) => {
        const proof = parseProofFile(opts.proof);
        const leafHash = toHex(hashLeaf(readInput(opts.leaf)));
        if (leafHash !== proof.leafHash)
          throw new CheckFailedError(`leaf hash ${leafHash} is not the proof's ${proof.leafHash}`);
        try {
          verifyInclusion(
            proof.index,
            proof.size,
            hashFromHex(leafHash),
            proof.auditPath.map((h, i) => hashFromHex(h, `auditPath[${i}]`)),
            hashFromHex(proof.root, "root"),
          );
        } catch (e: unknown) {
          throw new CheckFailedError(e instanceof Error ? e.message : String(e), { cause: e });
        }
        let signer: string | undefined;
        if (opts.checkpoint !== undefined) {
          const checkpoint = loadCheckpoint(opts.checkpoint);
          await checkCheckpoint(checkpoint, opts.checkpoint, parseRootKey(opts.icRootKey), opts.canister);
          signer = checkpoint.keyId;
          if (checkpoint.size !== proof.size || checkpoint.root !== proof.root) {
            throw new CheckFailedError(
              `proof is for size ${proof.size} root ${proof.root}; the checkpoint signs size ${checkpoint.size} root ${checkpoint.root} (ask for \`proof --size ${checkpoint.size}\`)`,
            );
          }
        }
        process.stdout.write(
          `ok: entry ${proof.index} is in the tree of size ${proof.size} with root ${proof.root}${signer === undefined ? "" : `, signed by ${signer}`}\n`,
        );
      },
    );
}

function parseConsistencyFile(file: string): { from: number; to: number; proof: string[] } {
  const value = readJson(file);
  if (typeof value !== "object" || value === null)
    throw new CliInputError(`${file}: not a consistency proof object`);
  const { from, to, proof } = value as Record<string, unknown>;
  if (typeof from !== "number" || typeof to !== "number")
    throw new CliInputError(`${file}: from and to must be numbers`);
  if (!Array.isArray(proof) || !proof.every((h) => typeof h === "string"))
    throw new CliInputError(`${file}: proof must be an array of hex strings`);
  return { from, to, proof: proof as string[] };
}

function registerVerifyConsistency(program: Command): void {
  program
    .command("verify-consistency")
    .description(
      "check offline that a newer signed checkpoint extends an older one (history was only appended to)",
    )
    .requiredOption(
      "--proof <file>",
      "consistency proof JSON from `modelchain consistency --from <old size> --to <new size>`",
    )
    .requiredOption("--old <file>", "the checkpoint kept earlier")
    .requiredOption("--new <file>", "the current checkpoint")
    .addOption(icRootKeyOption())
    .addOption(canisterOption())
    .action(
      async (opts: { proof: string; old: string; new: string; icRootKey?: string; canister?: string }) => {
        const proof = parseConsistencyFile(opts.proof);
        const [older, newer] = [loadCheckpoint(opts.old), loadCheckpoint(opts.new)];
        const icRootKey = parseRootKey(opts.icRootKey);
        await checkCheckpoint(older, opts.old, icRootKey, opts.canister);
        await checkCheckpoint(newer, opts.new, icRootKey, opts.canister);
        if (older.keyId !== newer.keyId)
          throw new CheckFailedError(
            `the checkpoints are signed by different keys (${older.keyId}, ${newer.keyId})`,
          );
        if (proof.from !== older.size || proof.to !== newer.size) {
          throw new CheckFailedError(
            `proof is from size ${proof.from} to ${proof.to}; the checkpoints are at sizes ${older.size} and ${newer.size}`,
          );
        }
        try {
          verifyExtends(
            older.size,
            newer.size,
            proof.proof.map((h, i) => hashFromHex(h, `proof[${i}]`)),
            hashFromHex(older.root, "old root"),
            hashFromHex(newer.root, "new root"),
          );
        } catch (e: unknown) {
          throw new CheckFailedError(
            `the newer checkpoint does not extend the older one: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        }
        process.stdout.write(
          `ok: the tree at size ${newer.size} extends the tree at size ${older.size} (both signed by ${newer.keyId})\n`,
        );
      },
    );
}

export function registerLedgerCommands(program: Command): void {
  registerAppend(program);
  registerShow(program);
  registerRootAndProofs(program);
  registerCheckpoint(program);
  registerVerify(program);
  registerVerifyProof(program);
  registerVerifyConsistency(program);
}
