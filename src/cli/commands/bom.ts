// `modelchain bom NS/NAME`: the verified history of a ModelDeployment as a CycloneDX ML-BOM. The
// whole ledger is audited first (every entry re-hashed, the tree rebuilt), the history is read at the
// audited size and every inclusion proof checked against the audited root; any failure ends the
// command before a byte of BOM is written.
import { randomUUID } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { packageRoot } from "../package-root.ts";
import { join } from "node:path";
import * as Spec from "@cyclonedx/cyclonedx-library/Spec";
import { Option, type Command } from "commander";
import { openLedger, parseLedgerUrl, type CheckpointTrust } from "../../ledger/index.ts";
import { historyItems, objectHistory, type HistoryGroup } from "../history/chain.ts";
import { mlBom } from "../bom/ml-bom.ts";
import type { ProvenHead, SignedHead } from "../bom/ledger-properties.ts";
import { mlBomJson } from "../bom/ml-components.ts";
import { signedHead } from "../bom/signed-head.ts";
import { CheckFailedError, CliInputError } from "../output.ts";
import { auditUrl, parseTrust } from "./ledger-verify.ts";

interface BomOptions {
  ledger: string;
  cluster?: string;
  uid?: string;
  keyId?: string;
  specVersion: keyof typeof SPECS;
  output: "json";
  out?: string;
}

const SPECS = { "1.6": Spec.Spec1dot6, "1.7": Spec.Spec1dot7 } as const;

/** The ledger would not verify, or its history could not be proven: no BOM. */
class BomRefused extends CheckFailedError {
  constructor(message: string, options?: ErrorOptions) {
    super(`bom: ${message}; no BOM written`, options);
    this.name = "BomRefused";
  }
}

function parseTarget(target: string): { namespace: string; name: string } {
  const [namespace, name, extra] = target.split("/");
  if (!namespace || !name || extra !== undefined)
    throw new CliInputError(`${JSON.stringify(target)}: want <namespace>/<name>`);
  return { namespace, name };
}

/** The whole ledger audited: the head every proof in the BOM leads to. */
async function auditedHead(url: string, trust: CheckpointTrust): Promise<ProvenHead> {
  const audit = await auditUrl(url, [], trust);
  const { problem } = audit;
  if (problem !== undefined)
    throw new BomRefused(
      problem.index === undefined
        ? `the ledger does not verify: ${problem.message}`
        : `the ledger does not verify at entry ${problem.index}: ${problem.message}`,
    );
  return { backend: parseLedgerUrl(url).backend, size: audit.size, root: audit.root, keyId: audit.keyId };
}

/** The one recorded object the BOM is about: a name may have several (clusters, uids). */
function theGroup(groups: HistoryGroup[], target: string, opts: BomOptions): HistoryGroup {
  const [only, ...more] = groups;
  if (only === undefined)
    throw new CheckFailedError(
      `bom: no ledger entry for ModelDeployment ${target} (cluster ${opts.cluster ?? "all"}, uid ${opts.uid ?? "all"})`,
    );
  if (more.length > 0)
    throw new CliInputError(
      `bom: ${groups.length} objects are recorded as ModelDeployment ${target} (${groups.map((g) => `cluster ${g.cluster} uid ${g.uid ?? "(none)"}`).join("; ")}): pick one with --cluster and --uid`,
    );
  return only;
}

/** The history at the audited head, every proof checked, and the signed head it is tied to. */
async function provenHistory(
  opts: BomOptions,
  target: { namespace: string; name: string },
  head: ProvenHead,
): Promise<{ group: HistoryGroup; signed: SignedHead | undefined }> {
  const ledger = await openLedger(opts.ledger, { readOnly: true });
  try {
    const history = await objectHistory(ledger, {
      kind: "ModelDeployment",
      ...target,
      size: head.size,
      ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    });
    if (history.root !== head.root)
      throw new BomRefused(
        `the ledger's root at size ${head.size} is ${history.root}, the audit rebuilt ${head.root}`,
      );
    const group = theGroup(history.groups, `${target.namespace}/${target.name}`, opts);
    const failed = historyItems({ ...history, groups: [group] }).filter((i) => !i.proofVerified);
    if (failed.length > 0)
      throw new BomRefused(`inclusion proof failed for entries ${failed.map((f) => f.index).join(", ")}`);
    return { group, signed: await signedHead(opts.ledger, ledger, head) };
  } finally {
    await ledger.close();
  }
}

function versionOf(packageJson: unknown): string {
  const version =
    typeof packageJson === "object" && packageJson !== null ? Reflect.get(packageJson, "version") : "";
  return typeof version === "string" ? version : "";
}

function tools(): Array<{ name: string; version: string }> {
  const own: unknown = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8"));
  const library: unknown = createRequire(import.meta.url)("@cyclonedx/cyclonedx-library/package.json");
  return [
    { name: "modelchain", version: versionOf(own) },
    { name: "@cyclonedx/cyclonedx-library", version: versionOf(library) },
  ];
}

/** The BOM to its file whole (written aside, then renamed over), or to standard output. */
function writeBom(text: string, out: string | undefined): void {
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  const aside = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(aside, text);
    renameSync(aside, out);
  } catch (e: unknown) {
    rmSync(aside, { force: true });
    throw new CliInputError(`--out ${out}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function registerBomCommand(program: Command): void {
  program
    .command("bom")
    .description(
      "the verified history of a ModelDeployment as a CycloneDX ML-BOM: serving images, model versions with model cards, datasets, parents as dependencies, each with its ledger entry and inclusion proof, and the checkpoint they were proven against; the whole ledger is audited first",
    )
    .argument("<namespace/name>", "the ModelDeployment")
    .addOption(
      new Option("--ledger <url>", "ledger directory or ic://…")
        .env("MODELCHAIN_LEDGER")
        .makeOptionMandatory(),
    )
    .option("--cluster <name>", "the cluster whose object it is (when the name is recorded in several)")
    .option("--uid <uid>", "the object's uid (when the name was deleted and created again)")
    .option(
      "--key-id <id>",
      "the ledger's key id, pinned out of band: a file ledger's 32 hex digits, or ic:<canister>",
    )
    .addOption(
      new Option("--spec-version <version>", "CycloneDX version").choices(Object.keys(SPECS)).default("1.6"),
    )
    .addOption(new Option("-o, --output <format>", "output format").choices(["json"]).default("json"))
    .option("--out <file>", "write the BOM to this file instead of standard output")
    .action(async (targetText: string, opts: BomOptions) => {
      const target = parseTarget(targetText);
      const trust = parseTrust(opts.keyId === undefined ? {} : { keyId: opts.keyId });
      const head = await auditedHead(opts.ledger, trust);
      const { group, signed } = await provenHistory(opts, target, head);
      const bom = mlBom({
        ...target,
        group,
        head,
        signed,
        tools: tools(),
        timestamp: new Date(),
        serialNumber: `urn:uuid:${randomUUID()}`,
      });
      writeBom(mlBomJson(bom, SPECS[opts.specVersion]), opts.out);
    });
}
