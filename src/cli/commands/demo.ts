// `modelchain demo`: the real controllers against the in-memory API server (src/devcluster)
// loaded with samples/, a real ledger (a file ledger in --state-dir, or --ledger ic://…), and
// simulated rollouts; ends with `history` and `verify`. Deterministic object uids make a second run on the same ledger add nothing.
import { join } from "node:path";
import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import type { Command } from "commander";
import pino from "pino";
import { borrowedLedger, installCrds, startOperator } from "../../controller/index.ts";
import { simulateRollouts, startDevCluster } from "../../devcluster/index.ts";
import { openLedger, type Ledger } from "../../ledger/index.ts";
import { readManifestFile } from "../../webhook/source-dir.ts";
import { auditUrl, verdict } from "./ledger-verify.ts";
import { objectHistory } from "../history/chain.ts";
import { historyText } from "../history/render.ts";
import { CheckFailedError } from "../output.ts";
import { packageRoot } from "../package-root.ts";

const SAMPLES = join(packageRoot(), "samples");
const DEMO_FILES = [
  "namespace.yaml",
  "trust-policy.yaml",
  "base-model.yaml",
  "fine-tuned.yaml",
  "deployment.yaml",
];

function samples(file: string): KubernetesObject[] {
  // The samples are checked-in manifests: apiVersion, kind and metadata are there.
  return readManifestFile(join(SAMPLES, file)).map((m) => m.object as KubernetesObject);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new CheckFailedError(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The demo's work on any ledger: the in-memory API server loaded with samples/, the operator
 * recording into `ledger` until the sample rollout completes. Returns how many entries it added.
 */
export async function runDemo(
  ledger: Ledger,
  say: (line: string) => void,
): Promise<{ before: number; added: number }> {
  const cluster = await startDevCluster({ uidSeed: "modelchain-demo" });
  const stopSimulation = simulateRollouts(cluster.store);
  const before = await ledger.size();
  try {
    await installCrds(cluster.kubeConfig);
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    for (const file of DEMO_FILES) for (const o of samples(file)) await objects.create(o);
    say(`demo: in-memory API server at ${cluster.url} loaded with samples/${DEMO_FILES.join(", samples/")}`);
    const operator = await startOperator({
      kubeConfig: cluster.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "demo",
      log: pino({ level: "warn" }),
      progressPollMs: 200,
    });
    await until(
      "the rollout to complete",
      async () => {
        const md = cluster.store.get("modelchain.io/v1alpha1/modeldeployments", "ml", "support-chat");
        return md?.["status"]?.rollouts?.at(-1)?.phase === "Completed";
      },
      30_000,
    );
    await operator.stop();
    return { before, added: (await ledger.size()) - before };
  } finally {
    stopSimulation();
    await cluster.stop();
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run the controllers against an in-process API server loaded with samples/ and a real ledger",
    )
    .option("--state-dir <dir>", "where the demo's file ledger lives", ".state")
    .option(
      "--ledger <url>",
      "record into this ledger instead: a directory, or ic://<canister-id>?host=<url>",
    )
    .action(async (opts: { stateDir: string; ledger?: string }) => {
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const url = opts.ledger ?? join(opts.stateDir, "ledger");
      const ledger = await openLedger(url, { warn: (m) => say(`ledger: ${m}`) });
      try {
        const { before, added } = await runDemo(ledger, say);
        say(
          `demo: the operator recorded ${added} new ledger entr${added === 1 ? "y" : "ies"} (${before} were there before)\n`,
        );
        say(`$ modelchain history ml/support-chat --ledger ${url} -o table`);
        const query = { kind: "ModelDeployment", namespace: "ml", name: "support-chat" } as const;
        process.stdout.write(historyText(await objectHistory(ledger, query)));
      } finally {
        await ledger.close();
      }
      const audit = await auditUrl(url);
      say(`\n$ modelchain verify --ledger ${url}`);
      say(verdict(audit).trimEnd());
    });
}
