import type { KubeConfig } from "@kubernetes/client-node";
import { Option, type Command } from "commander";
import { openLedger } from "../../ledger/index.ts";
import { HISTORY_KINDS, historyItems, objectHistory, type HistoryKind } from "../history/chain.ts";
import { historyText } from "../history/render.ts";
import { publishedCheckpoint } from "./history-checkpoint.ts";
import { CheckFailedError, CliInputError, outputOption, yamlText, type OutputFormat } from "../output.ts";

interface HistoryOptions {
  ledger: string;
  output: OutputFormat;
  kind: HistoryKind;
  cluster?: string;
  uid?: string;
  kubeconfig?: string;
  context?: string;
}

const API_VERSIONS: Record<HistoryKind, string> = {
  ModelDeployment: "modelchain.io/v1alpha1",
  ModelVersion: "modelchain.io/v1alpha1",
  Deployment: "apps/v1",
};

/**
 * A kubeconfig when one was named (flag or $KUBECONFIG): history then runs "against a cluster".
 * The client is loaded only then (it is most of a cold start otherwise).
 */
async function clusterConfig(opts: HistoryOptions): Promise<KubeConfig | undefined> {
  if (opts.kubeconfig === undefined && opts.context === undefined && !process.env["KUBECONFIG"])
    return undefined;
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  if (opts.context !== undefined) kc.setCurrentContext(opts.context);
  return kc;
}

/** The uid the object has in the cluster now, or undefined when it does not exist there. */
async function currentUid(kc: KubeConfig, kind: HistoryKind, namespace: string, name: string) {
  const { ApiException, KubernetesObjectApi } = await import("@kubernetes/client-node");
  try {
    const found = await KubernetesObjectApi.makeApiClient(kc).read({
      apiVersion: API_VERSIONS[kind],
      kind,
      metadata: { name, namespace },
    });
    return found.metadata?.uid;
  } catch (e: unknown) {
    if (e instanceof ApiException && e.code === 404) return undefined;
    throw new CliInputError(`history: reading ${kind} ${namespace}/${name} from the cluster failed`, {
      cause: e,
    });
  }
}

/** `--uid all` shows every uid; no --uid means the current object's when a cluster is at hand. */
async function uidFilter(opts: HistoryOptions, namespace: string, name: string): Promise<string | undefined> {
  if (opts.uid === "all") return undefined;
  if (opts.uid !== undefined) return opts.uid;
  const kc = await clusterConfig(opts);
  if (kc === undefined) return undefined;
  const uid = await currentUid(kc, opts.kind, namespace, name);
  if (uid === undefined)
    process.stderr.write(`${opts.kind} ${namespace}/${name} is not in the cluster now; showing every uid\n`);
  return uid;
}

export function registerHistoryCommand(program: Command): void {
  program
    .command("history")
    .description(
      "the recorded chain of one ModelDeployment, labelled Deployment or ModelVersion, grouped by cluster and uid, oldest first: admitted changes with their actors, denials, rollouts and config changes, each with a verified inclusion proof",
    )
    .argument("<namespace/name>", "the object")
    .addOption(
      new Option("--ledger <url>", "ledger directory or ic://…")
        .env("MODELCHAIN_LEDGER")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--kind <kind>", "what the object is").choices(HISTORY_KINDS).default("ModelDeployment"),
    )
    .option("--cluster <name>", "only entries recorded by this cluster (default: every cluster)")
    .option(
      "--uid <uid>",
      "only this object uid, or `all` (default: the object's current uid when a kubeconfig is given or $KUBECONFIG is set, else all)",
    )
    .option("--kubeconfig <file>", "read the object's current uid from this cluster")
    .option("--context <name>", "kubeconfig context")
    .addOption(outputOption())
    .action(async (target: string, opts: HistoryOptions) => {
      const [namespace, name, extra] = target.split("/");
      if (!namespace || !name || extra !== undefined)
        throw new CliInputError(`${JSON.stringify(target)}: want <namespace>/<name>`);
      const uid = await uidFilter(opts, namespace, name);
      const ledger = await openLedger(opts.ledger, { readOnly: true });
      try {
        const history = await objectHistory(ledger, {
          kind: opts.kind,
          namespace,
          name,
          ...(opts.cluster === undefined ? {} : { cluster: opts.cluster }),
          ...(uid === undefined ? {} : { uid }),
        });
        const checkpoint = await publishedCheckpoint(opts.ledger, ledger);
        if (checkpoint !== undefined) history.checkpoint = checkpoint;
        if (history.groups.length === 0)
          throw new CheckFailedError(`no ledger entry for ${history.target} (${describeFilters(opts, uid)})`);
        const text =
          opts.output === "json"
            ? `${JSON.stringify(history, null, 2)}\n`
            : opts.output === "yaml"
              ? yamlText(history)
              : historyText(history);
        process.stdout.write(text);
        const failed = historyItems(history).filter((i) => !i.proofVerified);
        if (failed.length > 0)
          throw new CheckFailedError(
            `inclusion proof failed for entries ${failed.map((f) => f.index).join(", ")}`,
          );
      } finally {
        await ledger.close();
      }
    });
}

function describeFilters(opts: HistoryOptions, uid: string | undefined): string {
  return `cluster ${opts.cluster ?? "all"}, uid ${uid ?? "all"}`;
}
