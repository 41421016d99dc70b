// Wiring for `modelchain webhook` (and `modelchain operator`, which may run it too): a source
// feeding the cache, the reviewer, the denial recorder and the HTTPS server.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Ledger, Outbox } from "../ledger/index.ts";
import { VerifiedCache, type LedgerFacts, type ModelVocabulary } from "./cache.ts";
import { DenialRecorder, type DenialRecordFailed } from "./denials.ts";
import { DEFAULT_TIMEOUT_SECONDS } from "./manifest.ts";
import { createReviewer, type MissLookup } from "./reviewer.ts";
import {
  startWebhookServer,
  type Reviewer,
  type WebhookServer,
  type WebhookServerOptions,
} from "./server.ts";
import { loadManifests, manifestFiles, readLedgerFacts, readManifestFile } from "./source-dir.ts";
import type { TlsLoadFailed } from "./tls.ts";
import type { AdmissionDecision } from "./decision.ts";
import type { AdmissionRequest } from "./review.ts";
import type { YamlLimits } from "./yaml-input.ts";

export type Source = { type: "kube" } | { type: "dir"; path: string };

/** Out of cluster nothing should listen beyond this machine unless told to. */
export const DEFAULT_HOST = "127.0.0.1";

/** The --source flag is neither `kube` nor `dir:PATH`. */
export class SourceSpecError extends Error {
  constructor(text: string) {
    super(`--source ${JSON.stringify(text)}: expected "kube" or "dir:PATH"`);
    this.name = "SourceSpecError";
  }
}

export function parseSource(text: string): Source {
  if (text === "kube") return { type: "kube" };
  if (text.startsWith("dir:") && text.length > 4) return { type: "dir", path: text.slice(4) };
  throw new SourceSpecError(text);
}

/** The directory's manifests had objects the cache could not use; each line names file and field. */
export class DirSourceInvalid extends Error {
  readonly problems: readonly string[];
  constructor(path: string, problems: readonly string[]) {
    super(`--source dir:${path}: ${problems.length} unusable object(s):\n  ${problems.join("\n  ")}`);
    this.name = "DirSourceInvalid";
    this.problems = problems;
  }
}

/** A cache filled from a directory (and a ledger's facts when one is given), marked synced. */
export async function loadDirCache<MV, P>(
  vocabulary: ModelVocabulary<MV, P>,
  path: string,
  ledger?: Ledger,
  limits?: YamlLimits,
): Promise<VerifiedCache<MV, P>> {
  const cache = new VerifiedCache(vocabulary);
  const objects = manifestFiles(path).flatMap((file) => readManifestFile(file, limits));
  const problems = loadManifests(cache, objects);
  if (problems.length > 0) throw new DirSourceInvalid(path, problems);
  if (ledger !== undefined) cache.setLedgerFacts(await readLedgerFacts(ledger));
  cache.markSynced();
  return cache;
}

export interface WebhookServiceOptions<MV, P> {
  vocabulary: ModelVocabulary<MV, P>;
  source: Source;
  kubeConfig?: KubeConfig;
  /** Ledger facts (recorded spec digests, tip) are read from here, and followed. */
  ledger?: Ledger;
  /** Instead of `ledger`: opens a fresh reader per refresh (a read-only file ledger is a snapshot). */
  reopenLedger?: () => Promise<Ledger>;
  /** Denials are handed here; without one they are only counted and logged. */
  outbox?: Outbox;
  cluster: string;
  certFile: string;
  keyFile: string;
  port: number;
  /** Where the HTTPS server listens (default 127.0.0.1: in a Pod, pass 0.0.0.0). */
  host?: string;
  /**
   * Resolve only once the cache has synced (default true). The server listens first either
   * way, so /healthz answers and /readyz says why it is not ready meanwhile.
   */
  awaitSync?: boolean;
  timeoutSeconds?: number;
  ledgerRefreshMs?: number;
  /** Limits on the manifests of `--source dir:` (default: yamlLimits()). */
  yamlLimits?: YamlLimits;
  /** Limits of the HTTPS server (defaults: WEBHOOK_LIMITS). */
  limits?: Pick<WebhookServerOptions, "handshakeTimeoutMs" | "inFlightBodyBytes">;
  log: {
    info(o: object, msg: string): void;
    warn(o: object, msg: string): void;
    error(o: object, msg: string): void;
  };
}

export interface WebhookService<MV, P> {
  server: WebhookServer;
  cache: VerifiedCache<MV, P>;
  /** Resolves once the cache has synced. */
  synced: Promise<void>;
  /** Undefined while ready; else why not (what /readyz answers with its 503). */
  problem(): string | undefined;
  recorder: DenialRecorder | undefined;
  close(): Promise<void>;
}

interface FedCache<MV, P> {
  cache: VerifiedCache<MV, P>;
  lookup?: MissLookup;
  /** Resolves once the source has filled the cache. */
  synced: Promise<void>;
  /** Undefined while the cache can be trusted; else why not (see KubeSource.problem). */
  problem(): string | undefined;
  stop(): Promise<void>;
}

async function feedCache<MV, P>(
  o: WebhookServiceOptions<MV, P>,
  facts: LedgerFacts | undefined,
): Promise<FedCache<MV, P>> {
  if (o.source.type === "dir") {
    const cache = await loadDirCache(o.vocabulary, o.source.path, undefined, o.yamlLimits);
    if (facts !== undefined) cache.setLedgerFacts(facts);
    return { cache, synced: Promise.resolve(), problem: () => undefined, stop: async () => undefined };
  }
  if (o.kubeConfig === undefined) throw new SourceSpecError("kube (no kubeconfig found)");
  const cache = new VerifiedCache(o.vocabulary);
  if (facts !== undefined) cache.setLedgerFacts(facts);
  // Loaded here: the Kubernetes client is a large module graph that directory sources never need.
  const { watchKubeSource } = await import("./source-kube.ts");
  const kube = watchKubeSource({
    kubeConfig: o.kubeConfig,
    cache,
    onError: (e) => o.log.warn({ kind: "informer", err: e.message }, "webhook source error"),
  });
  return { cache, lookup: kube.lookup, synced: kube.synced, problem: kube.problem, stop: kube.stop };
}

/** Reads the ledger's facts (from `previous` on), through a fresh reader when one is configured. */
async function ledgerFacts<MV, P>(
  o: WebhookServiceOptions<MV, P>,
  previous?: LedgerFacts,
): Promise<LedgerFacts | undefined> {
  if (o.reopenLedger !== undefined) {
    const reader = await o.reopenLedger();
    try {
      return await readLedgerFacts(reader, previous);
    } finally {
      await reader.close();
    }
  }
  return o.ledger === undefined ? undefined : readLedgerFacts(o.ledger, previous);
}

/** Re-reads new ledger entries now and then, so the tip and recorded digests follow the ledger. */
function followLedger<MV, P>(
  cache: VerifiedCache<MV, P>,
  o: WebhookServiceOptions<MV, P>,
  initial: LedgerFacts | undefined,
): () => void {
  if (o.ledger === undefined && o.reopenLedger === undefined) return () => undefined;
  let facts = initial;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    ledgerFacts(o, facts)
      .then((next) => {
        if (next !== undefined && next !== facts) cache.setLedgerFacts(next);
        facts = next;
      })
      .catch((e: unknown) =>
        o.log.warn(
          { kind: "ledger", err: e instanceof Error ? e.message : String(e) },
          "ledger facts not refreshed",
        ),
      )
      .finally(() => (busy = false));
  }, o.ledgerRefreshMs ?? 5_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The HTTPS server for `review`, its TLS and internal errors logged. */
function serveReviews<MV, P>(
  o: WebhookServiceOptions<MV, P>,
  review: Reviewer,
  problem: () => string | undefined,
): Promise<WebhookServer> {
  return startWebhookServer({
    certFile: o.certFile,
    keyFile: o.keyFile,
    port: o.port,
    host: o.host ?? DEFAULT_HOST,
    ...o.limits,
    review,
    ready: () => problem() === undefined,
    unreadyReason: problem,
    onTlsError: (e: TlsLoadFailed) =>
      o.log.warn(
        { kind: "tls", file: e.file, err: e.message },
        "certificate reload failed; keeping the old one",
      ),
    onInternalError: (e: unknown) =>
      o.log.error(
        { kind: "review", err: e instanceof Error ? e.message : String(e) },
        "review failed; denied",
      ),
  });
}

/** The reviewer, logging each denial (one line, no object) once the answer is on its way. */
function loggingDenials(decide: Reviewer, log: WebhookServiceOptions<unknown, unknown>["log"]): Reviewer {
  return async (request) => {
    const d = await decide(request);
    if (!d.allowed) setImmediate(() => logDenial(log, request, d));
    return d;
  };
}

function logDenial(
  log: WebhookServiceOptions<unknown, unknown>["log"],
  request: AdmissionRequest,
  d: AdmissionDecision,
): void {
  const { uid, namespace, name } = request;
  log.info(
    { kind: request.kind.kind, namespace, name, reason: d.reason, check: d.checkFailed, uid },
    "admission denied",
  );
}

export async function startWebhookService<MV, P>(
  o: WebhookServiceOptions<MV, P>,
): Promise<WebhookService<MV, P>> {
  // A ledger not written yet (the operator opens it once it leads) is not fatal: followLedger
  // keeps trying, and until then a policy that requires a ledger record denies.
  const facts = await ledgerFacts(o).catch((e: unknown) => {
    o.log.warn(
      { kind: "ledger", err: e instanceof Error ? e.message : String(e) },
      "ledger facts not read yet",
    );
    return undefined;
  });
  const fed = await feedCache(o, facts);
  const { cache } = fed;
  const stopFollowing = followLedger(cache, o, facts);
  const recorder =
    o.outbox === undefined
      ? undefined
      : new DenialRecorder({
          outbox: o.outbox,
          cluster: o.cluster,
          tip: () => cache.state().ledgerTip,
          onError: (e: DenialRecordFailed) =>
            o.log.error(
              { kind: "AdmissionDenied", entries: e.entries, err: e.message },
              "denial not recorded",
            ),
        });
  // Half the API server's timeout: a slow lookup still leaves time to answer with a reason.
  const lookupDeadlineMs = ((o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000) / 2;
  // Reviews wait only for the first sync. An informer failing later makes /readyz say so (and
  // takes the Pod out of its Service) but does not deny a review by itself: a watch restarting
  // for a second is routine, what the cache lacks is read through, and a lookup that fails then
  // denies with its reason.
  let everSynced = false;
  void fed.synced.then(() => (everSynced = true));
  const decide = createReviewer({
    cache,
    lookupDeadlineMs,
    notReady: () => (everSynced ? undefined : (fed.problem() ?? "cache not synced yet")),
    ...(fed.lookup ? { lookup: fed.lookup } : {}),
    ...(recorder ? { sink: recorder } : {}),
  });
  const review = loggingDenials(decide, o.log);
  const server = await serveReviews(o, review, fed.problem);
  const { address } = server;
  o.log.info(
    { kind: "webhook", address, port: server.port, source: o.source.type },
    `webhook listening on https://${address}`,
  );
  void fed.synced.then(() => o.log.info({ kind: "webhook", address }, "webhook cache synced; ready"));
  if (o.awaitSync ?? true) await fed.synced;
  return {
    server,
    cache,
    synced: fed.synced,
    problem: fed.problem,
    recorder,
    close: async () => {
      stopFollowing();
      await server.close();
      await fed.stop();
      await recorder?.settled();
    },
  };
}
