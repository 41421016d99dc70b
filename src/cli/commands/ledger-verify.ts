// The auditor's ledger commands: verify, verify-proof, verify-consistency. Each says who signed
// what it checked; with --key-id or --public-key the auditor pins the ledger's key out of band
// (as with Certificate Transparency or Sigsum logs), and a checkpoint by any other key fails.
import { createPublicKey, type KeyObject } from "node:crypto";
import { Option, type Command } from "commander";
import {
  auditFileLedger,
  auditLedger,
  hashFromHex,
  hashLeaf,
  keyIdOf,
  parseCheckpoint,
  parseLedgerUrl,
  toHex,
  verifyAnyCheckpoint,
  verifyExtends,
  verifyInclusion,
  type AuditResult,
  type Checkpoint,
  type CheckpointTrust,
} from "../../ledger/index.ts";
import { readInput, readJson } from "../input.ts";
import { CheckFailedError, CliInputError, parseIndex } from "../output.ts";
import { withLedger } from "./ledger.ts";
import { verifyBeyondFiles, type BeyondFlags } from "./verify-published.ts";

interface TrustFlags {
  keyId?: string;
  publicKey?: string;
  icRootKey?: string;
  canister?: string;
}

const trustOptions = (): Option[] => [
  new Option(
    "--key-id <id>",
    "the ledger's key id, pinned out of band: a file ledger's 32 hex digits, or ic:<canister>",
  ),
  new Option("--public-key <file>", "PEM of the file ledger's ed25519 public key, pinned out of band"),
  new Option(
    "--ic-root-key <hex>",
    "DER root key (hex) that ic checkpoints must chain to: a local replica's or PocketIC's (default: the IC mainnet key)",
  ).env("MODELCHAIN_IC_ROOT_KEY"),
];

const canisterOption = (): Option =>
  new Option(
    "--canister <id>",
    "the ledger canister the checkpoints must come from (same as --key-id ic:<id>)",
  );

function readPublicKey(file: string): KeyObject {
  try {
    return createPublicKey(readInput(file));
  } catch (e: unknown) {
    if (e instanceof CliInputError) throw e;
    throw new CliInputError(`--public-key ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

/** What the flags pin; contradictory pins are bad input. */
export function parseTrust(flags: TrustFlags): CheckpointTrust {
  const trust: CheckpointTrust = {};
  if (flags.icRootKey !== undefined) {
    if (!/^([0-9a-fA-F]{2})+$/.test(flags.icRootKey))
      throw new CliInputError("--ic-root-key must be hex (the DER-encoded BLS root key)");
    trust.icRootKey = new Uint8Array(Buffer.from(flags.icRootKey, "hex"));
  }
  const ids = [flags.keyId, flags.canister === undefined ? undefined : `ic:${flags.canister}`];
  if (flags.publicKey !== undefined) {
    trust.publicKey = readPublicKey(flags.publicKey);
    ids.push(keyIdOf(trust.publicKey));
  }
  const pinned = [...new Set(ids.filter((id): id is string => id !== undefined))];
  if (pinned.length > 1) throw new CliInputError(`the pinned keys disagree: ${pinned.join(", ")}`);
  if (pinned[0] !== undefined) trust.keyId = pinned[0];
  return trust;
}

function loadCheckpoint(file: string): Checkpoint {
  try {
    return parseCheckpoint(readJson(file));
  } catch (e: unknown) {
    if (e instanceof CliInputError) throw e;
    throw new CliInputError(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function checkCheckpoint(c: Checkpoint, file: string, trust: CheckpointTrust): Promise<void> {
  try {
    await verifyAnyCheckpoint(c, trust);
  } catch (e: unknown) {
    throw new CheckFailedError(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

const signer = (keyId: string, trust: CheckpointTrust): string =>
  `${keyId}${trust.keyId === undefined ? "" : " (pinned)"}`;

/** The deepest audit each backend has: the file ledger's on-disk one, or through the interface. */
export async function auditUrl(
  url: string,
  checkpoints: Checkpoint[] = [],
  trust: CheckpointTrust = {},
): Promise<AuditResult> {
  const location = parseLedgerUrl(url);
  if (location.backend === "file") return auditFileLedger(location.dir, checkpoints, trust);
  return withLedger(url, true, (l) => auditLedger(l, checkpoints, trust));
}

/** The verdict line of `verify`, or the failure naming the first bad entry. */
export function verdict(result: AuditResult, trust: CheckpointTrust = {}): string {
  const { problem } = result;
  if (problem !== undefined)
    throw new CheckFailedError(
      problem.index === undefined
        ? `verify failed: ${problem.message}`
        : `verify failed at entry ${problem.index}: ${problem.message}`,
    );
  const key = result.keyId === undefined ? "no key" : `key ${signer(result.keyId, trust)}`;
  return `ok: ${result.size} entries, root ${result.root}, ${key}, ${result.checkpointsChecked} checkpoint(s) consistent\n`;
}

function registerVerify(program: Command): void {
  const command = program
    .command("verify")
    .description(
      "re-hash every entry and check the tree, the ledger's key and checkpoints; exit 1 naming the first bad entry",
    )
    .addOption(
      new Option("--ledger <url>", "ledger directory, or ic://<canister-id>?host=<url>")
        .env("MODELCHAIN_LEDGER")
        .makeOptionMandatory(),
    )
    .option("--checkpoint <file...>", "checkpoints kept earlier: the ledger must still extend each")
    .option(
      "--anchor <url>",
      "file ledger: the canister its checkpoints were anchored on (ic://…): the ledger must extend every anchored root",
    )
    .option(
      "--witness-key <vkey...>",
      "file ledger: a witness's cosigner key (modelchain witness --print-vkey)",
    )
    .option(
      "--witness-quorum <m>",
      "how many of the --witness-key witnesses must have co-signed (default: all)",
      parseIndex("--witness-quorum"),
    )
    .option("--cosigned <file...>", "checkpoints co-signed by the witnesses (what modelchain witness wrote)");
  for (const option of trustOptions()) command.addOption(option);
  command.action(async (opts: TrustFlags & BeyondFlags & { ledger: string; checkpoint?: string[] }) => {
    const trust = parseTrust(opts);
    const location = parseLedgerUrl(opts.ledger);
    if (location.backend !== "file" && (opts.anchor !== undefined || opts.witnessKey !== undefined))
      throw new CliInputError("--anchor and --witness-key check a file ledger; this ledger is ic://");
    const result = await auditUrl(opts.ledger, (opts.checkpoint ?? []).map(loadCheckpoint), trust);
    const line = verdict(result, trust);
    const more = location.backend === "file" ? await verifyBeyondFiles(location.dir, opts) : [];
    process.stdout.write([line, ...more.map((m) => `${m}\n`)].join(""));
  });
}

interface ProofFile {
  index: number;
  size: number;
  leafHash: string;
  auditPath: string[];
  root: string;
}

function parseProofFile(file: string): ProofFile {
  const value = readJson(file);
  if (typeof value !== "object" || value === null) throw new CliInputError(`${file}: not a proof object`);
  const { index, size, leafHash, auditPath, root } = value as Record<string, unknown>;
  if (typeof index !== "number" || typeof size !== "number")
    throw new CliInputError(`${file}: index and size must be numbers`);
  if (typeof leafHash !== "string" || typeof root !== "string")
    throw new CliInputError(`${file}: leafHash and root must be hex strings`);
  if (!Array.isArray(auditPath) || !auditPath.every((h) => typeof h === "string"))
    throw new CliInputError(`${file}: auditPath must be an array of hex strings`);
  return { index, size, leafHash, auditPath: auditPath as string[], root };
}

function checkProof(proof: ProofFile, leafHash: string): void {
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
}

type VerifyProofFlags = TrustFlags & { proof: string; leaf: string; checkpoint?: string };

async function verifyProof(opts: VerifyProofFlags): Promise<void> {
  const trust = parseTrust(opts);
  const proof = parseProofFile(opts.proof);
  checkProof(proof, toHex(hashLeaf(readInput(opts.leaf))));
  let signed = "";
  if (opts.checkpoint !== undefined) {
    const checkpoint = loadCheckpoint(opts.checkpoint);
    await checkCheckpoint(checkpoint, opts.checkpoint, trust);
    if (checkpoint.size !== proof.size || checkpoint.root !== proof.root) {
      throw new CheckFailedError(
        `proof is for size ${proof.size} root ${proof.root}; the checkpoint signs size ${checkpoint.size} root ${checkpoint.root} (ask for \`proof --size ${checkpoint.size}\`)`,
      );
    }
    signed = `, signed by ${signer(checkpoint.keyId, trust)}`;
  }
  process.stdout.write(
    `ok: entry ${proof.index} is in the tree of size ${proof.size} with root ${proof.root}${signed}\n`,
  );
}

function registerVerifyProof(program: Command): void {
  const command = program
    .command("verify-proof")
    .description("verify an inclusion proof offline, from the leaf bytes (show --raw), without the ledger")
    .requiredOption("--proof <file>", "proof JSON from `modelchain proof`")
    .requiredOption("--leaf <file>", "leaf bytes from `modelchain show --raw`")
    .option("--checkpoint <file>", "signed checkpoint the proof's root must match");
  for (const option of [...trustOptions(), canisterOption()]) command.addOption(option);
  command.action(verifyProof);
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

type VerifyConsistencyFlags = TrustFlags & { proof: string; old: string; new: string };

async function verifyConsistencyFiles(opts: VerifyConsistencyFlags): Promise<void> {
  const trust = parseTrust(opts);
  const proof = parseConsistencyFile(opts.proof);
  const [older, newer] = [loadCheckpoint(opts.old), loadCheckpoint(opts.new)];
  await checkCheckpoint(older, opts.old, trust);
  // Both must be by the same key: the first one's, when nothing else is pinned.
  await checkCheckpoint(newer, opts.new, { ...trust, keyId: trust.keyId ?? older.keyId });
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
    `ok: the tree at size ${newer.size} extends the tree at size ${older.size} (both signed by ${signer(newer.keyId, trust)})\n`,
  );
}

function registerVerifyConsistency(program: Command): void {
  const command = program
    .command("verify-consistency")
    .description(
      "check offline that a newer signed checkpoint extends an older one (history was only appended to)",
    )
    .requiredOption(
      "--proof <file>",
      "consistency proof JSON from `modelchain consistency --from <old size> --to <new size>`",
    )
    .requiredOption("--old <file>", "the checkpoint kept earlier")
    .requiredOption("--new <file>", "the current checkpoint");
  for (const option of [...trustOptions(), canisterOption()]) command.addOption(option);
  command.action(verifyConsistencyFiles);
}

export function registerVerifyCommands(program: Command): void {
  registerVerify(program);
  registerVerifyProof(program);
  registerVerifyConsistency(program);
}
