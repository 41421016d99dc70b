// `kubectl modelchain …`: the kubectl plugin (kubectl runs the executable `kubectl-modelchain`
// found on PATH, which the package installs). Every subcommand uses the current kubeconfig
// context and its namespace, as kubectl does, unless --kubeconfig, --context or -n say otherwise;
// output is for people (`-o table`) unless -o json|yaml is asked for. `history` and `verify` are
// modelchain's own commands with the context filled in; `check` and `explain-denial` judge
// objects against the live cluster as the webhook would.
import { Command, Option } from "commander";
import { main as modelchainMain, reportFailure } from "../main.ts";
import { inputLimits } from "../input.ts";
import {
  CheckFailedError,
  CliInputError,
  OUTPUT_FORMATS,
  printResult,
  type OutputFormat,
} from "../output.ts";
import type { KubeconfigFlags } from "../kubeconfig.ts";

interface ClusterFlags extends KubeconfigFlags {
  namespace?: string;
  ledger?: string;
  output: OutputFormat;
}

const humanOutput = (): Option =>
  new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table");

function clusterOptions(command: Command): Command {
  return command
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: the current one)")
    .option("-n, --namespace <ns>", "namespace (default: the context's, else default)");
}

/** The kubeconfig and namespace the flags and the current context name; client-node loaded here. */
async function contextOf(flags: ClusterFlags) {
  const { loadKubeConfig, NoKubeconfig } = await import("../kubeconfig.ts");
  try {
    const kc = loadKubeConfig(flags);
    const namespace = flags.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
    return { kc, namespace };
  } catch (e: unknown) {
    if (e instanceof NoKubeconfig) throw new CheckFailedError(e.message, { cause: e });
    throw e;
  }
}

const KINDS: Readonly<Record<string, { kind: string; apiVersion: string }>> = {
  md: { kind: "ModelDeployment", apiVersion: "modelchain.io/v1alpha1" },
  modeldeployment: { kind: "ModelDeployment", apiVersion: "modelchain.io/v1alpha1" },
  modeldeployments: { kind: "ModelDeployment", apiVersion: "modelchain.io/v1alpha1" },
  mv: { kind: "ModelVersion", apiVersion: "modelchain.io/v1alpha1" },
  modelversion: { kind: "ModelVersion", apiVersion: "modelchain.io/v1alpha1" },
  modelversions: { kind: "ModelVersion", apiVersion: "modelchain.io/v1alpha1" },
  deploy: { kind: "Deployment", apiVersion: "apps/v1" },
  deployment: { kind: "Deployment", apiVersion: "apps/v1" },
  deployments: { kind: "Deployment", apiVersion: "apps/v1" },
};

/** `md/NAME`, `modelversion/NAME`, `deploy/NAME`… (kubectl's resource/name form). */
function parseTarget(text: string): { kind: string; apiVersion: string; name: string } {
  const [resource, name, extra] = text.split("/");
  const known = KINDS[(resource ?? "").toLowerCase().replace(/\.modelchain\.io$|\.apps$/, "")];
  if (known === undefined || !name || extra !== undefined)
    throw new CliInputError(
      `${JSON.stringify(text)}: want KIND/NAME with KIND one of md, mv, deploy (or modeldeployment, modelversion, deployment)`,
    );
  return { ...known, name };
}

function historyCommand(program: Command): void {
  clusterOptions(
    program
      .command("history")
      .description(
        "the recorded chain of an object in the current context (modelchain history, current uid only)",
      )
      .argument("<name>", "the object's name (or KIND/NAME: md/…, mv/…, deploy/…)"),
  )
    .option("--ledger <url>", "ledger directory or ic://… (default: $MODELCHAIN_LEDGER)")
    .option("--cluster <name>", "only entries recorded by this cluster")
    .option("--uid <uid>", "this object uid, or `all` (default: the object's current uid)")
    .addOption(humanOutput())
    .action(async (name: string, flags: ClusterFlags & { cluster?: string; uid?: string }) => {
      const { kc, namespace } = await contextOf(flags);
      const target = name.includes("/") ? parseTarget(name) : { kind: "ModelDeployment", name };
      const args = [
        "history",
        `${namespace}/${target.name}`,
        "--kind",
        target.kind,
        "--context",
        kc.getCurrentContext(),
        ...(flags.kubeconfig === undefined ? [] : ["--kubeconfig", flags.kubeconfig]),
        ...(flags.ledger === undefined ? [] : ["--ledger", flags.ledger]),
        ...(flags.cluster === undefined ? [] : ["--cluster", flags.cluster]),
        ...(flags.uid === undefined ? [] : ["--uid", flags.uid]),
        "-o",
        flags.output,
      ];
      process.exitCode = await modelchainMain(args);
    });
}

function verifyCommand(program: Command): void {
  program
    .command("verify")
    .description(
      "modelchain verify: check every entry, proof and checkpoint of the ledger (its flags as they are)",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[flags...]", "modelchain verify's flags (--ledger L, --checkpoint F, …)")
    .action(async (rest: string[]) => {
      process.exitCode = await modelchainMain(["verify", ...rest]);
    });
}

function checkCommand(program: Command): void {
  clusterOptions(
    program
      .command("check")
      .description(
        "decide whether the webhook would admit each object of the manifests, against the live cluster's trust policies, namespaces and ModelVersions",
      )
      .requiredOption("-f, --file <file>", "manifest (several documents allowed); repeatable", collect),
  )
    .option(
      "--ledger <url>",
      "ledger whose recorded spec digests and revocations the decision uses (default: $MODELCHAIN_LEDGER)",
      process.env["MODELCHAIN_LEDGER"] || undefined,
    )
    .addOption(humanOutput())
    .action(async (flags: ClusterFlags & { file: string[] }) => {
      const { kc, namespace } = await contextOf(flags);
      const { readManifestFile, loadModelVersions } = await import("../../webhook/source-dir.ts");
      const { checkManifests } = await import("../../webhook/check.ts");
      const { clusterState } = await import("./cluster-state.ts");
      const objects = flags.file.flatMap((f) => readManifestFile(f, inputLimits()));
      const state = await clusterState(kc, flags.ledger);
      const results = await (async () => {
        try {
          loadModelVersions(state.cache, objects);
          return checkManifests(state.cache, objects, namespace);
        } finally {
          await state.close();
        }
      })();
      if (flags.output !== "table") printResult(results, flags.output);
      else
        for (const r of results)
          process.stdout.write(
            `${r.allowed ? (r.warnings.length > 0 ? "WARNED " : "ALLOWED") : "DENIED "} ${r.kind} ${r.namespace}/${r.name}: ${r.allowed ? r.warnings.join("; ") || r.reason : r.message}\n`,
          );
      const denied = results.filter((r) => !r.allowed).length;
      if (denied > 0) throw new CheckFailedError(`${denied} of ${results.length} object(s) would be denied`);
    });
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function explainCommand(program: Command): void {
  clusterOptions(
    program
      .command("explain-denial")
      .description(
        "say which check an object fails (or failed: the last denial the ledger recorded for it) and how to fix it",
      )
      .argument("[target]", "KIND/NAME in the cluster: md/NAME, mv/NAME or deploy/NAME"),
  )
    .option("-f, --file <file>", "judge the objects of this manifest instead; repeatable", collect)
    .option(
      "--ledger <url>",
      "ledger to read the last recorded denial (and recorded digests) from (default: $MODELCHAIN_LEDGER)",
      process.env["MODELCHAIN_LEDGER"] || undefined,
    )
    .addOption(humanOutput())
    .action(async (text: string | undefined, flags: ClusterFlags & { file?: string[] }) => {
      if ((text === undefined) === (flags.file === undefined))
        throw new CliInputError("explain-denial takes either KIND/NAME or -f FILE");
      const { kc, namespace } = await contextOf(flags);
      const { readManifestFile } = await import("../../webhook/source-dir.ts");
      const { explain, explanationText } = await import("./explain.ts");
      const { readObject } = await import("./objects.ts");
      const target = text === undefined ? undefined : parseTarget(text);
      const objects =
        flags.file !== undefined
          ? flags.file.flatMap((f) => readManifestFile(f, inputLimits()))
          : target === undefined
            ? []
            : await readObject(kc, { ...target, namespace });
      if (objects.length === 0 && flags.ledger === undefined && target !== undefined)
        throw new CheckFailedError(
          `${target.kind} ${namespace}/${target.name} is not in the cluster (a denied create leaves nothing behind): pass -f FILE to judge its manifest, or --ledger L for the denial the webhook recorded`,
        );
      const explanations = await explain(
        kc,
        objects,
        target === undefined ? undefined : { kind: target.kind, namespace, name: target.name },
        namespace,
        flags.ledger,
      );
      if (flags.output !== "table") printResult(explanations, flags.output);
      else process.stdout.write(`${explanations.map(explanationText).join("\n\n")}\n`);
      if (explanations.some((e) => e.admittedNow === false))
        throw new CheckFailedError("the webhook would deny it now");
    });
}

export function pluginProgram(): Command {
  const program = new Command("kubectl modelchain")
    .description("modelchain from kubectl, in the current kubeconfig context")
    .showHelpAfterError()
    .exitOverride();
  historyCommand(program);
  verifyCommand(program);
  checkCommand(program);
  explainCommand(program);
  return program;
}

export async function pluginMain(argv: string[]): Promise<number> {
  try {
    await pluginProgram().parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e: unknown) {
    return reportFailure(e);
  }
}
