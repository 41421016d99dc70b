// `modelchain operator`: the controllers, out of cluster (kubeconfig) or in cluster.
import { hostname } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Command } from "commander";
import type { Logger } from "pino";
import { installCrds, probeCluster, startOperator } from "../../controller/index.ts";
import { checkpointRoutes, FileOutbox, openLedger, parseLedgerUrl } from "../../ledger/index.ts";
import { modelchainVocabulary } from "../../webhook/vocabulary.ts";
import { startWebhookService } from "../../webhook/service.ts";
import { startMetricsServer } from "../../metrics/index.ts";
import { CheckFailedError, CliInputError, parseIndex, printResult } from "../output.ts";
import { loadKubeConfig, NoKubeconfig, type KubeconfigFlags } from "../kubeconfig.ts";
import { processLogger } from "../log.ts";
import { handshakeTimeoutFlag, inFlightBodyBytesFlag } from "./webhook.ts";
import { addCheckpointOptions, checkpointSchedule, type CheckpointFlags } from "./operator-checkpoints.ts";

interface OperatorFlags extends CheckpointFlags, KubeconfigFlags {
  ledger?: string;
  host: string;
  stateDir: string;
  cluster: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  healthPort: number;
  workers: number;
  installCrds: boolean;
  metricsPort: number;
  webhookPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  webhookTimeoutSeconds: number;
  webhookTlsHandshakeTimeoutMs: number;
  webhookInFlightBodyBytes: number;
  artifactImage?: string;
}

/** The kubeconfig, or a CheckFailedError (exit 1) saying in one line why there is none. */
function kubeConfigOrFail(flags: KubeconfigFlags): KubeConfig {
  try {
    return loadKubeConfig(flags);
  } catch (e: unknown) {
    if (e instanceof NoKubeconfig) throw new CheckFailedError(e.message, { cause: e });
    throw e;
  }
}

async function startInProcessWebhook(
  flags: OperatorFlags,
  kubeConfig: KubeConfig,
  ledgerUrl: string,
  outbox: FileOutbox | undefined,
  log: Logger,
) {
  if (flags.tlsCert === undefined || flags.tlsKey === undefined)
    throw new CliInputError("--webhook-port needs --tls-cert and --tls-key");
  return startWebhookService({
    vocabulary: modelchainVocabulary,
    source: { type: "kube" },
    kubeConfig,
    reopenLedger: () => openLedger(ledgerUrl, { readOnly: true }),
    ...(outbox === undefined ? {} : { outbox }),
    cluster: flags.cluster,
    certFile: flags.tlsCert,
    keyFile: flags.tlsKey,
    port: flags.webhookPort ?? 9443,
    host: flags.host,
    // The operator starts beside it; /readyz waits for both.
    awaitSync: false,
    timeoutSeconds: flags.webhookTimeoutSeconds,
    limits: {
      handshakeTimeoutMs: flags.webhookTlsHandshakeTimeoutMs,
      inFlightBodyBytes: flags.webhookInFlightBodyBytes,
    },
    log,
  });
}

export function registerClusterInfoCommand(program: Command): void {
  program
    .command("cluster-info")
    .description(
      "say whether the current kubeconfig context reaches a cluster that accepts its credentials (exit 1 if not)",
    )
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
    .option("--context <name>", "kubeconfig context (default: current)")
    .action(async (flags: KubeconfigFlags) => {
      let kc: KubeConfig;
      try {
        kc = loadKubeConfig(flags);
      } catch (e: unknown) {
        if (!(e instanceof NoKubeconfig)) throw e;
        printResult({ reachable: false, reason: "no-kubeconfig", problem: e.message });
        throw new CheckFailedError(e.message);
      }
      const probe = await probeCluster(kc);
      if (!probe.ok) {
        printResult({ reachable: false, reason: probe.reason, problem: probe.problem });
        throw new CheckFailedError(
          probe.reason === "credentials-refused"
            ? probe.problem
            : `no Kubernetes cluster reachable: ${probe.problem}`,
        );
      }
      printResult({
        reachable: true,
        server: probe.server,
        version: probe.version,
        context: kc.getCurrentContext(),
      });
    });
}

export function registerOperatorCommand(program: Command): void {
  const command = program
    .command("operator")
    .description("run the controllers that record model registrations, rollouts, image and config changes")
    .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
    .option("--context <name>", "kubeconfig context (default: current)")
    .option(
      "--ledger <url>",
      "ledger directory or ic://<canister-id>?host=<url> (default: <state-dir>/ledger)",
    )
    .option("--state-dir <dir>", "where the file ledger lives by default", ".state")
    .option("--cluster <name>", "cluster name recorded in every entry", "default")
    .option("--leader-elect", "elect a leader through a Lease (run several replicas safely)", false)
    .option(
      "--leader-election-namespace <ns>",
      "namespace of the Lease",
      process.env["POD_NAMESPACE"] ?? "default",
    )
    .option(
      "--host <addr>",
      "address the health, metrics and webhook ports listen on (in a Pod: 0.0.0.0)",
      "127.0.0.1",
    )
    .option("--health-port <port>", "port for /healthz and /readyz", parseIndex("--health-port"), 8081)
    .option("--workers <n>", "reconcile workers per controller", parseIndex("--workers"), 2)
    .option("--metrics-port <port>", "port for Prometheus /metrics", parseIndex("--metrics-port"), 8080)
    .option(
      "--webhook-port <port>",
      "also serve the admission webhook in this process (HTTPS), its denials recorded through an outbox under --state-dir",
      parseIndex("--webhook-port"),
    )
    .option("--tls-cert <file>", "webhook serving certificate (PEM), reloaded when it changes")
    .option("--tls-key <file>", "webhook serving key (PEM), reloaded when it changes")
    .option(
      "--webhook-timeout-seconds <s>",
      "the webhook configuration's timeoutSeconds",
      parseIndex("--webhook-timeout-seconds"),
      5,
    )
    .option(...handshakeTimeoutFlag("--webhook-tls-handshake-timeout-ms"))
    .option(...inFlightBodyBytesFlag("--webhook-in-flight-body-bytes"))
    .option("--install-crds", "server-side apply the modelchain CRDs before starting", false)
    .option(
      "--artifact-image <ref>",
      "modelchain image (pinned by digest) the artifact fetch/verify init containers run",
      process.env["MODELCHAIN_ARTIFACT_IMAGE"],
    );
  addCheckpointOptions(command).action(runOperator);
}

/** Runs the operator (and the in-process webhook) until SIGTERM or SIGINT. */
async function runOperator(flags: OperatorFlags): Promise<void> {
  const log = processLogger("modelchain-operator");
  const kubeConfig = kubeConfigOrFail(flags);
  const probe = await probeCluster(kubeConfig);
  if (!probe.ok)
    throw new CheckFailedError(
      probe.reason === "credentials-refused"
        ? probe.problem
        : `no Kubernetes cluster reachable: ${probe.problem}`,
    );
  log.info({ server: probe.server, version: probe.version }, "connected");
  if (flags.installCrds) log.info({ crds: await installCrds(kubeConfig) }, "CRDs installed");
  const ledgerUrl = flags.ledger ?? join(flags.stateDir, "ledger");
  const outbox =
    flags.webhookPort === undefined
      ? undefined
      : FileOutbox.open(join(flags.stateDir, "outbox"), { warn: (m) => log.warn(m) });
  const webhook =
    flags.webhookPort === undefined
      ? undefined
      : await startInProcessWebhook(flags, kubeConfig, ledgerUrl, outbox, log);
  const checkpoints = checkpointSchedule(flags, ledgerUrl, kubeConfig, flags.cluster);
  const operator = await startOperator({
    kubeConfig,
    ledger: { open: () => openLedger(ledgerUrl, { warn: (m) => log.warn(m) }), close: (l) => l.close() },
    ...(outbox === undefined ? {} : { outbox }),
    cluster: flags.cluster,
    log,
    workers: flags.workers,
    healthPort: flags.healthPort,
    healthHost: flags.host,
    ...(webhook === undefined ? {} : { notReady: webhook.problem }),
    ...(checkpoints === undefined ? {} : { checkpoints }),
    ...(flags.artifactImage === undefined ? {} : { artifactImage: flags.artifactImage }),
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.leaderElectionNamespace,
            name: "modelchain-operator",
            identity: `${hostname()}-${process.pid}`,
          },
        }
      : {}),
  });
  const location = parseLedgerUrl(ledgerUrl);
  const metrics = await startMetricsServer(
    flags.metricsPort,
    flags.host,
    location.backend === "file" ? checkpointRoutes(location.dir, () => operator.ledger()) : undefined,
  );
  const webhookUrl = webhook === undefined ? undefined : `https://${webhook.server.address}/validate`;
  log.info(
    {
      health: operator.healthUrl,
      metrics: metrics.url,
      ...(webhookUrl === undefined ? {} : { webhook: webhookUrl }),
    },
    `operator started: health ${operator.healthUrl ?? "off"}, metrics ${metrics.url}${webhookUrl === undefined ? "" : `, webhook ${webhookUrl}`}`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info("shutting down: finishing in-flight reconciles, flushing the ledger, releasing the lease");
  await webhook?.close();
  await operator.stop();
  await outbox?.close();
  await metrics.close();
}
