import { Option, type Command } from "commander";
import { openLedger } from "../../ledger/index.ts";
import { deploymentHistory, historyText } from "../history/chain.ts";
import { CheckFailedError, CliInputError } from "../output.ts";

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
