// The HTTPS shell around admissionDecision: node:https, no framework. It never throws out of a
// handler: bad input is a 4xx with a reason, a failed decision is a deny with code 500.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { admissionDuration, admissionReviews } from "../metrics/index.ts";
import type { AdmissionDecision } from "./decision.ts";
import {
  admissionResponse,
  parseAdmissionReview,
  ReviewInputError,
  type AdmissionRequest,
} from "./review.ts";
import { loadTls, watchTls, type TlsLoadFailed } from "./tls.ts";

/** The API server caps a review at 3 MiB (etcd's request limit plus envelope). */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;

/** Answers one parsed review; may await a bounded cache lookup. Throwing means deny (500). */
export type Reviewer = (request: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision>;

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  port: number;
  host?: string;
  review: Reviewer;
  /** /readyz answers 200 only once this is true (the cache has synced). */
  ready(): boolean;
  /** Slow clients: all headers within this time, the whole request within `requestTimeoutMs`. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  maxBodyBytes?: number;
  tlsPollMs?: number;
  onTlsError?(error: TlsLoadFailed): void;
  onInternalError?(error: unknown): void;
}

export interface WebhookServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** A request the server refuses before a review exists: status and a reason for the client. */
class HttpRefusal extends Error {
  readonly status: number;
  constructor(status: number, reason: string) {
    super(reason);
    this.name = "HttpRefusal";
    this.status = status;
  }
}

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function checkHeaders(req: IncomingMessage, max: number): void {
  if (req.method !== "POST")
    throw new HttpRefusal(405, `method ${req.method ?? "?"} not allowed; POST an AdmissionReview`);
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw new HttpRefusal(400, `content-type must be application/json, got ${JSON.stringify(type)}`);
  const length = Number(req.headers["content-length"] ?? "0");
  if (length > max) throw new HttpRefusal(413, `body of ${length} bytes is over the ${max}-byte limit`);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new HttpRefusal(413, `body is over the ${max}-byte limit`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    // A client gone mid-body must not leave this promise (and its chunks) pending forever.
    req.on("close", () => {
      if (!req.complete) reject(new HttpRefusal(400, "client closed the connection before the body ended"));
    });
  });
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

async function validate(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookServerOptions,
): Promise<void> {
  const max = options.maxBodyBytes ?? MAX_REVIEW_BYTES;
  checkHeaders(req, max);
  const body = parseJson(await readBody(req, max));
  const started = performance.now();
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(body);
  } catch (e: unknown) {
    if (e instanceof ReviewInputError) throw new HttpRefusal(400, e.message);
    throw e;
  }
  const d = await decide(request, options);
  const code = d.reason === "internal-error" || d.reason === "lookup-failed" ? 500 : 403;
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

function route(
  req: IncomingMessage,
  res: ServerResponse,
  options: WebhookServerOptions,
): Promise<void> | void {
  const path = (req.url ?? "").split("?")[0];
  if (path === "/validate") return validate(req, res, options);
  if (path === "/healthz") return send(res, 200, "ok\n");
  if (path === "/readyz")
    return options.ready() ? send(res, 200, "ok\n") : send(res, 503, "cache not synced\n");
  send(res, 404, `no handler for ${JSON.stringify(path)}; POST AdmissionReviews to /validate\n`);
}

function handle(req: IncomingMessage, res: ServerResponse, options: WebhookServerOptions): void {
  const refuse = (e: unknown): void => {
    if (e instanceof HttpRefusal) {
      // After a refused body the rest of it is not worth reading: close the connection.
      if (e.status === 413) res.setHeader("connection", "close");
      send(res, e.status, `${e.message}\n`);
      return;
    }
    options.onInternalError?.(e);
    send(res, 500, "internal error\n");
  };
  try {
    Promise.resolve(route(req, res, options)).catch(refuse);
  } catch (e: unknown) {
    refuse(e);
  }
}

/** Starts the webhook on HTTPS; the certificate pair is reloaded whenever its files change. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const server = createServer({
    ...loadTls(options.certFile, options.keyFile),
    headersTimeout: options.headersTimeoutMs ?? 5_000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    keepAliveTimeout: 30_000,
    // How often Node enforces the two timeouts above; its 30 s default lets slow clients linger.
    connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs ?? 5_000),
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => handle(req, res, options));
  // Malformed HTTP: answer 400 if the socket can still take it, else just close.
  server.on("clientError", (e: NodeJS.ErrnoException, socket) => {
    const status = e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });
  server.on("tlsClientError", () => undefined);
  const stopWatch = watchTls({
    certFile: options.certFile,
    keyFile: options.keyFile,
    pollMs: options.tlsPollMs,
    onReload: (material) => server.setSecureContext(material),
    onError: (e) => options.onTlsError?.(e),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port; // listen() on TCP always yields AddressInfo
  const close = (): Promise<void> => {
    stopWatch();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { port, server, close };
}
