// The HTTPS shell around admissionDecision: node:https, no framework. It never throws out of a
// handler: bad input is a 4xx with a reason, a failed decision is a deny with code 500.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { admissionDuration, admissionRefusals, admissionReviews } from "../metrics/index.ts";
import { BodyBudget, declaredLength, HttpRefusal, readBody, type BodyProgress } from "./body.ts";
import type { AdmissionDecision } from "./decision.ts";
import { limitsOf, type Limits } from "./limits.ts";
import { answerAndClose, clientErrorReply } from "./malformed.ts";
import {
  admissionResponse,
  parseAdmissionReview,
  ReviewInputError,
  type AdmissionRequest,
} from "./review.ts";
import { loadTls, watchTls, type TlsLoadFailed } from "./tls.ts";

export { MAX_REVIEW_BYTES, WEBHOOK_LIMITS, WebhookLimitsInvalid } from "./limits.ts";

/** Answers one parsed review; may await a bounded cache lookup. Throwing means deny (500). */
export type Reviewer = (request: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision>;

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  port: number;
  host?: string;
  review: Reviewer;
  /** /readyz answers 200 only while this is true (the cache has synced and its informers run). */
  ready(): boolean;
  /** The body of a 503 from /readyz: why it is not ready (default "cache not synced"). */
  unreadyReason?(): string | undefined;
  /** Slow clients: all headers within this time, the whole request within `requestTimeoutMs`. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** A connection that has not finished the TLS handshake by then is closed. */
  handshakeTimeoutMs?: number;
  /** Request line and headers together; beyond it the answer is 431. */
  maxHeaderBytes?: number;
  /** One review's body; beyond it the answer is 413. */
  maxBodyBytes?: number;
  /** Bytes of bodies buffered across all requests; a request that would go beyond gets 429. */
  inFlightBodyBytes?: number;
  tlsPollMs?: number;
  onTlsError?(error: TlsLoadFailed): void;
  onInternalError?(error: unknown): void;
}

export interface WebhookServer {
  port: number;
  /** host:port as bound ([::1]:9443 for IPv6): what a log line should name. */
  address: string;
  server: Server;
  /** Bytes of request bodies buffered right now and the budget they are held to. */
  bodyBudget: Readonly<BodyBudget>;
  close(): Promise<void>;
}

/** What one server shares among its requests: the body budget and the request on each connection. */
interface Served {
  options: WebhookServerOptions;
  limits: Limits;
  budget: BodyBudget;
  inFlight: WeakMap<Duplex, { res: ServerResponse; progress: BodyProgress }>;
  /** Connections answered with a reply that closes them (malformed HTTP, a body refused part-way). */
  answered: WeakSet<Duplex>;
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  type = "text/plain; charset=utf-8",
  headers: Readonly<Record<string, string>> = {},
): void {
  // A socket the clientError handler already answered and ended takes no second response.
  if (res.headersSent || res.destroyed || res.socket?.writable === false) return;
  res.writeHead(status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function checkHeaders(req: IncomingMessage): void {
  if (req.method !== "POST")
    throw new HttpRefusal(405, `method ${req.method ?? "?"} not allowed; POST an AdmissionReview`);
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw new HttpRefusal(400, `content-type must be application/json, got ${JSON.stringify(type)}`);
}

// JSON text is UTF-8 (RFC 8259 §8.1). A lenient decoder turns each invalid byte into U+FFFD,
// so the review judged would not be the one sent: refuse it. A BOM is kept, and JSON refuses it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch (e: unknown) {
    throw new HttpRefusal(400, `body is not valid UTF-8: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseJson(body: Buffer): unknown {
  const text = decodeUtf8(body);
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    throw new HttpRefusal(400, `body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function failClosed(error: unknown): AdmissionDecision {
  const why = error instanceof Error ? error.message : String(error);
  return {
    allowed: false,
    message: `modelchain: webhook error, denying: ${why}`,
    warnings: [],
    reason: "internal-error",
    checkFailed: undefined,
    resource: "other",
    record: [],
  };
}

async function decide(request: AdmissionRequest, options: WebhookServerOptions): Promise<AdmissionDecision> {
  try {
    return await options.review(request);
  } catch (e: unknown) {
    options.onInternalError?.(e);
    return failClosed(e);
  }
}

async function validate(req: IncomingMessage, res: ServerResponse, served: Served): Promise<void> {
  const { options, limits, budget } = served;
  checkHeaders(req);
  const progress = served.inFlight.get(req.socket)?.progress ?? { received: 0, expected: undefined };
  progress.expected = declaredLength(req, limits.maxBodyBytes);
  const onSettled = (release: () => void): void => void res.once("close", release);
  const body = parseJson(await readBody(req, { max: limits.maxBodyBytes, budget, progress, onSettled }));
  const started = performance.now();
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (e: unknown) {
    if (e instanceof ReviewInputError) throw new HttpRefusal(400, e.message);
    throw e;
  }
  const d = await decide(request, options);
  const failed: readonly string[] = ["internal-error", "lookup-failed", "webhook-not-ready"];
  const code = failed.includes(d.reason) ? 500 : 403;
  const review = admissionResponse(request.uid, {
    allowed: d.allowed,
    message: d.message,
    warnings: d.warnings,
    code,
  });
  send(res, 200, JSON.stringify(review), "application/json");
  admissionDuration.observe((performance.now() - started) / 1000);
  admissionReviews.inc({
    decision: d.allowed ? "allowed" : "denied",
    reason: d.reason,
    resource: d.resource,
  });
}

function route(req: IncomingMessage, res: ServerResponse, served: Served): Promise<void> | void {
  const { options } = served;
  const path = (req.url ?? "").split("?")[0];
  if (path === "/validate") return validate(req, res, served);
  if (path === "/healthz") return send(res, 200, "ok\n");
  if (path === "/readyz")
    return options.ready()
      ? send(res, 200, "ok\n")
      : send(res, 503, `${options.unreadyReason?.() ?? "cache not synced"}\n`);
  send(res, 404, `no handler for ${JSON.stringify(path)}; POST AdmissionReviews to /validate\n`);
}

/** Refusals that leave a body unread end the connection: reading the rest is not worth it. */
function abandonsBody(e: HttpRefusal): boolean {
  return e.status === 413 || e.status === 429;
}

function handle(req: IncomingMessage, res: ServerResponse, served: Served): void {
  const { socket } = req;
  served.inFlight.set(socket, { res, progress: { received: 0, expected: undefined } });
  res.once("close", () => {
    if (served.inFlight.get(socket)?.res === res) served.inFlight.delete(socket);
  });
  const refuse = (e: unknown): void => {
    // A request the client cut short may already have had its answer from `clientError`.
    if (!served.answered.has(socket))
      admissionRefusals.inc({ status: e instanceof HttpRefusal ? String(e.status) : "500" });
    if (e instanceof HttpRefusal && abandonsBody(e))
      return answerAndClose(
        socket,
        { status: e.status, body: `${e.message}\n`, headers: e.headers },
        served.answered,
      );
    if (e instanceof HttpRefusal) return send(res, e.status, `${e.message}\n`, undefined, e.headers);
    served.options.onInternalError?.(e);
    send(res, 500, "internal error\n");
  };
  try {
    Promise.resolve(route(req, res, served)).catch(refuse);
  } catch (e: unknown) {
    refuse(e);
  }
}

/** HTTP that Node's parser refused, or a request that ran out of time; other errors have no HTTP to answer. */
function isHttpError(error: unknown): boolean {
  if (typeof error !== "object" || error === null || !("code" in error) || typeof error.code !== "string")
    return false;
  return error.code.startsWith("HPE_") || error.code === "ERR_HTTP_REQUEST_TIMEOUT";
}

/**
 * `clientError` also carries TLS failures (the https server re-emits them: a handshake that timed
 * out, a reset): those sockets are closed. Malformed HTTP gets an answer naming the parser's
 * complaint, unless a response was already started.
 */
function answerClientError(served: Served, error: unknown, socket: Duplex): void {
  const current = served.inFlight.get(socket);
  if (!isHttpError(error) || current?.res.headersSent === true) {
    if (!isHttpError(error)) admissionRefusals.inc({ status: "tls" });
    socket.destroy();
    return;
  }
  const reply = clientErrorReply(error, { ...served.limits, progress: current?.progress });
  if (!served.answered.has(socket)) admissionRefusals.inc({ status: String(reply.status) });
  answerAndClose(socket, reply, served.answered);
}

/** Starts the webhook on HTTPS; the certificate pair is reloaded whenever its files change. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const limits = limitsOf({
    headersTimeoutMs: options.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    maxHeaderBytes: options.maxHeaderBytes,
    maxBodyBytes: options.maxBodyBytes,
    inFlightBodyBytes: options.inFlightBodyBytes,
  });
  const served: Served = {
    options,
    limits,
    budget: new BodyBudget(limits.inFlightBodyBytes),
    inFlight: new WeakMap(),
    answered: new WeakSet(),
  };
  const server = createServer({
    ...loadTls(options.certFile, options.keyFile),
    handshakeTimeout: limits.handshakeTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: 30_000,
    // How often Node enforces the two timeouts above; its 30 s default lets slow clients linger.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => handle(req, res, served));
  server.on("clientError", (e: unknown, socket: Duplex) => answerClientError(served, e, socket));
  const stopWatch = watchTls({
    certFile: options.certFile,
    keyFile: options.keyFile,
    pollMs: options.tlsPollMs,
    onReload: (material) => server.setSecureContext(material),
    onError: (e) => options.onTlsError?.(e),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const bound = server.address() as AddressInfo; // listen() on TCP always yields AddressInfo
  const { port } = bound;
  const address = bound.family === "IPv6" ? `[${bound.address}]:${port}` : `${bound.address}:${port}`;
  const close = (): Promise<void> => {
    stopWatch();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { port, address, server, bodyBudget: served.budget, close };
}
