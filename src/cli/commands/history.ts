import { Option, type Command } from "commander";
import { openLedger, parseLedgerUrl, type Ledger } from "../../ledger/index.ts";
import { deploymentHistory, historyText, type History } from "../history/chain.ts";
import { latestPublished } from "./checkpoint.ts";
import { checkpointSource } from "./checkpoint-source.ts";
import { CheckFailedError, CliInputError } from "../output.ts";

/** A file ledger's latest published checkpoint, verified, that the ledger read extends. */
async function publishedCheckpoint(url: string, ledger: Ledger): Promise<History["checkpoint"]> {
  const location = parseLedgerUrl(url);
  if (location.backend !== "file") return undefined;
  const log = checkpointSource(location.dir).logKey();
  const c = log === undefined ? undefined : latestPublished(location.dir, log);
  if (c === undefined || c.size > (await ledger.size())) return undefined;
  const root = await ledger.root(c.size);
  if (root !== c.root)
    throw new CheckFailedError(
      `the published checkpoint at size ${c.size} signs root ${c.root}; the ledger's root there is ${root}`,
    );
  return { size: c.size, root: c.root, keyId: c.keyId, timestamp: c.timestamp };
}

export function registerHistoryCommand(program: Command): void {
  program
    .command("history")
    .description(
      "the recorded chain of one ModelDeployment, oldest first, each entry with a verified inclusion proof",
    )
    .argument("<namespace/name>", "the ModelDeployment")
    .addOption(
      new Option("--ledger <url>", "ledger directory or ic://…")
        .env("MODELCHAIN_LEDGER")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
    )
    .action(async (target: string, opts: { ledger: string; output: string }) => {
      const [namespace, name, extra] = target.split("/");
      if (!namespace || !name || extra !== undefined)
        throw new CliInputError(`${JSON.stringify(target)}: want <namespace>/<name>`);
      const ledger = await openLedger(opts.ledger, { readOnly: true });
      try {
        const history = await deploymentHistory(ledger, namespace, name);
        const checkpoint = await publishedCheckpoint(opts.ledger, ledger);
        if (checkpoint !== undefined) history.checkpoint = checkpoint;
        if (history.deploymentEvents.length === 0)
          throw new CheckFailedError(`no ledger entry for ModelDeployment ${target}`);
        process.stdout.write(
          opts.output === "json" ? `${JSON.stringify(history, null, 2)}\n` : historyText(history),
        );
        const failed = [...history.modelVersions, ...history.deploymentEvents].filter(
          (i) => !i.proofVerified,
        );
        if (failed.length > 0)
          throw new CheckFailedError(
            `inclusion proof failed for entries ${failed.map((f) => f.index).join(", ")}`,
          );
      } finally {
        await ledger.close();
      }
    });
}
