// `modelchain webhook`: the validating admission webhook over HTTPS.
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import type { Logger } from "pino";
import { stringify } from "yaml";
import { FileOutbox, openLedger, parseLedgerUrl, type Ledger } from "../../ledger/index.ts";
import { modelchainVocabulary } from "../../webhook/vocabulary.ts";
import { parseSource, SourceSpecError, startWebhookService, type Source } from "../../webhook/service.ts";
import { validatingWebhookConfiguration, type FailurePolicy } from "../../webhook/manifest.ts";
import { MAX_REVIEW_BYTES, WEBHOOK_LIMITS } from "../../webhook/server.ts";
import { startMetricsServer } from "../../metrics/index.ts";
import { inputLimits } from "../input.ts";
import { CliInputError, parseAtLeast, parseIndex } from "../output.ts";
import { processLogger } from "../log.ts";
import type { KubeconfigFlags } from "../kubeconfig.ts";

interface WebhookOptions extends KubeconfigFlags {
  tlsCert?: string;
  tlsKey?: string;
  port: number;
  host: string;
  metricsPort?: number;
  source: string;
  ledger?: string;
  outbox?: string;
  cluster: string;
  timeoutSeconds: number;
  tlsHandshakeTimeoutMs: number;
  inFlightBodyBytes: number;
  printConfig?: boolean;
  failurePolicy: FailurePolicy;
  namespace: string;
  url?: string;
  caBundle?: string;
}

/** The CA certificate(s) of --ca-bundle, base64 as caBundle takes them; refused unless PEM. */
function caBundleOf(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e: unknown) {
    throw new CliInputError(`--ca-bundle ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(text))
    throw new CliInputError(`--ca-bundle ${file}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it`);
  return Buffer.from(text).toString("base64");
}

function printConfig(opts: WebhookOptions): void {
  const config = validatingWebhookConfiguration({
    failurePolicy: opts.failurePolicy,
    timeoutSeconds: opts.timeoutSeconds,
    namespace: opts.namespace,
    ...(opts.url === undefined ? {} : { url: opts.url }),
    ...(opts.caBundle === undefined ? {} : { caBundle: caBundleOf(opts.caBundle) }),
  });
  // The webhooks share equal objects (selectors, rules): written out in full, never as &anchors
  // and *aliases, which kubectl reads but many GitOps tools and reviewers do not.
  process.stdout.write(stringify(config, { aliasDuplicateObjects: false, lineWidth: 0 }));
}

/** Loaded on demand: the Kubernetes client is a large module graph that dir sources never need. */
async function kubeConfig(flags: KubeconfigFlags) {
  const { loadKubeConfig, NoKubeconfig } = await import("../kubeconfig.ts");
  try {
    return loadKubeConfig(flags);
  } catch (e: unknown) {
    if (e instanceof NoKubeconfig) throw new CliInputError(e.message, { cause: e });
    throw e;
  }
}

/** A file ledger opened read-only is a snapshot, so it is reopened per refresh; ic reads are live. */
async function ledgerReader(url: string): Promise<{
  options: { ledger: Ledger } | { reopenLedger: () => Promise<Ledger> };
  close(): Promise<void>;
}> {
  if (parseLedgerUrl(url).backend === "file") {
    return {
      options: { reopenLedger: () => openLedger(url, { readOnly: true }) },
      close: async () => undefined,
    };
  }
  const ledger = await openLedger(url, { readOnly: true });
  return { options: { ledger }, close: () => ledger.close() };
}

/**
 * Denials go to a durable outbox. It delivers to an ic:// ledger itself; a file ledger has one
 * writer (the operator), so beside it the outbox only collects until that writer drains it.
 */
async function denialOutbox(
  dir: string,
  ledgerUrl: string | undefined,
  log: Logger,
): Promise<{ outbox: FileOutbox; close(): Promise<void> }> {
  const warn = (m: string) => log.warn({ kind: "outbox" }, m);
  if (ledgerUrl === undefined || parseLedgerUrl(ledgerUrl).backend === "file") {
    log.info(
      { kind: "outbox", dir },
      "AdmissionDenied entries collect in the outbox until a ledger writer drains it",
    );
    const outbox = FileOutbox.open(dir, { warn });
    return { outbox, close: () => outbox.close() };
  }
  const ledger = await openLedger(ledgerUrl);
  const outbox = FileOutbox.open(dir, { ledger, warn });
  return {
    outbox,
    close: async () => {
      await outbox.close();
      await ledger.close();
    },
  };
}

function sourceOf(text: string): Source {
  try {
    return parseSource(text);
  } catch (e: unknown) {
    if (e instanceof SourceSpecError) throw new CliInputError(e.message, { cause: e });
    throw e;
  }
}

/** Serves until SIGTERM/SIGINT, then closes connections and flushes queued denials. */
async function serve(opts: WebhookOptions): Promise<void> {
  if (opts.tlsCert === undefined || opts.tlsKey === undefined)
    throw new CliInputError("--tls-cert and --tls-key are required to serve");
  const source = sourceOf(opts.source);
  const log = processLogger("modelchain-webhook", 2);
  const ledger = opts.ledger === undefined ? undefined : await ledgerReader(opts.ledger);
  const denials = opts.outbox === undefined ? undefined : await denialOutbox(opts.outbox, opts.ledger, log);
  const service = await startWebhookService({
    vocabulary: modelchainVocabulary,
    source,
    ...(source.type === "kube" ? { kubeConfig: await kubeConfig(opts) } : {}),
    ...ledger?.options,
    ...(denials === undefined ? {} : { outbox: denials.outbox }),
    cluster: opts.cluster,
    certFile: opts.tlsCert,
    keyFile: opts.tlsKey,
    port: opts.port,
    host: opts.host,
    timeoutSeconds: opts.timeoutSeconds,
    limits: { handshakeTimeoutMs: opts.tlsHandshakeTimeoutMs, inFlightBodyBytes: opts.inFlightBodyBytes },
    yamlLimits: inputLimits(),
    log,
  });
  // The admission counters and latencies live in this process when it runs apart from the operator.
  const metrics =
    opts.metricsPort === undefined ? undefined : await startMetricsServer(opts.metricsPort, opts.host);
  if (metrics !== undefined) log.info({ kind: "webhook", metrics: metrics.url }, `serving ${metrics.url}`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  log.info({ kind: "webhook" }, "shutting down");
  await service.close();
  await metrics?.close();
  await denials?.close();
  await ledger?.close();
}

/** The HTTPS server's limits as flags, shared with `operator --webhook-port`. */
export function handshakeTimeoutFlag(flag: string): [string, string, (v: string) => number, number] {
  return [
    `${flag} <ms>`,
    "close connections that have not finished the TLS handshake by then",
    parseAtLeast(flag, 1, "a connection must get some time to finish its handshake"),
    WEBHOOK_LIMITS.handshakeTimeoutMs,
  ];
}

export function inFlightBodyBytesFlag(flag: string): [string, string, (v: string) => number, number] {
  return [
    `${flag} <bytes>`,
    "request bodies buffered at once across all requests; beyond it a request gets 429 with Retry-After",
    parseAtLeast(flag, MAX_REVIEW_BYTES, "one full-size AdmissionReview must fit"),
    WEBHOOK_LIMITS.inFlightBodyBytes,
  ];
}

export function registerWebhookCommand(program: Command): void {
  program
    .command("webhook")
    .description("serve the validating admission webhook (AdmissionReview v1 on HTTPS /validate)")
    .option("--tls-cert <file>", "serving certificate (PEM); reloaded when the file changes")
    .option("--tls-key <file>", "serving key (PEM); reloaded when the file changes")
    .option("--port <port>", "HTTPS port", parseIndex("--port"), 9443)
    .option("--host <addr>", "address the HTTPS and metrics ports listen on (in a Pod: 0.0.0.0)", "127.0.0.1")
    .option(
      "--metrics-port <port>",
      "also serve Prometheus /metrics on this port (same --host); unset: not served",
      parseIndex("--metrics-port"),
    )
    .option("--source <source>", "kube (informers) or dir:PATH (manifests on disk)", "kube")
    .option(
      "--kubeconfig <file>",
      "kubeconfig for --source kube (default: $KUBECONFIG, ~/.kube/config, or in-cluster)",
    )
    .option("--context <name>", "kubeconfig context (default: current)")
    .option("--ledger <url>", "ledger to read recorded spec digests and the tip from (read-only)")
    .option(
      "--outbox <dir>",
      "durable outbox for AdmissionDenied entries (delivered to an ic:// --ledger; beside a file ledger, drained by its writer)",
    )
    .option("--cluster <name>", "cluster name written into AdmissionDenied entries", "default")
    .option(
      "--timeout-seconds <s>",
      "the configuration's timeoutSeconds; lookups get half of it",
      parseIndex("--timeout-seconds"),
      5,
    )
    .option(...handshakeTimeoutFlag("--tls-handshake-timeout-ms"))
    .option(...inFlightBodyBytesFlag("--in-flight-body-bytes"))
    .option("--print-config", "print the ValidatingWebhookConfiguration and exit")
    .addOption(
      new Option("--failure-policy <policy>", "for --print-config")
        .choices(["Fail", "Ignore"])
        .default("Fail"),
    )
    .option(
      "--namespace <ns>",
      "modelchain's namespace, excluded from admission (for --print-config)",
      "modelchain-system",
    )
    .option("--url <url>", "for --print-config: call this URL instead of the in-cluster Service")
    .option(
      "--ca-bundle <file>",
      "for --print-config: PEM CA certificate(s) that signed the serving certificate, written as caBundle",
    )
    .action(async (opts: WebhookOptions) => {
      if (opts.printConfig) return printConfig(opts);
      await serve(opts);
    });
}
