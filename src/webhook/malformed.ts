// Answers that end a connection: for requests Node's HTTP parser refuses before the server sees
// them (the `clientError` event), with a body naming the parser's error code so that a client, a
// proxy or whoever reads its log learns why instead of a bare 400 or a reset; and for bodies
// refused part-way, whose rest is not worth reading.
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { describeProgress, type BodyProgress } from "./body.ts";

/** After the answer the client may still be sending; reading on this long lets it see the answer. */
const LINGER_MS = 2_000;

export interface ClientErrorContext {
  /** The request in progress on this connection (its headers were parsed), if any. */
  progress: BodyProgress | undefined;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface ClosingReply {
  status: number;
  body: string;
  headers?: Readonly<Record<string, string>>;
}

function codeOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string")
    return error.code;
  return "UNKNOWN";
}

/** llhttp puts its own words in `reason`; `message` is often just "Parse Error". */
function reasonOf(error: unknown): string {
  if (typeof error === "object" && error !== null && "reason" in error && typeof error.reason === "string")
    return error.reason;
  return error instanceof Error ? error.message : String(error);
}

function timeoutReply(c: ClientErrorContext): ClosingReply {
  const body =
    c.progress === undefined
      ? `request headers not complete within ${c.headersTimeoutMs} ms`
      : `request not complete within ${c.requestTimeoutMs} ms${describeProgress(c.progress)}`;
  return { status: 408, body: `${body} (ERR_HTTP_REQUEST_TIMEOUT)\n` };
}

export function clientErrorReply(error: unknown, c: ClientErrorContext): ClosingReply {
  const code = codeOf(error);
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return timeoutReply(c);
  if (code === "HPE_HEADER_OVERFLOW")
    return {
      status: 431,
      body: `request headers are over the ${c.maxHeaderBytes}-byte limit (${code})\n`,
    };
  if (code === "HPE_INVALID_EOF_STATE")
    return {
      status: 400,
      body: `truncated request: the client ended the connection before the request was complete${describeProgress(c.progress)} (${code})\n`,
    };
  return { status: 400, body: `malformed request: ${reasonOf(error)} (${code})\n` };
}

/** Raw bytes: the parser has given up, or the body is abandoned; no ServerResponse writes this. */
function rawResponse(reply: ClosingReply): string {
  const headers = Object.entries(reply.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`);
  return (
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? "Error"}\r\n` +
    headers.join("") +
    "connection: close\r\n" +
    "content-type: text/plain; charset=utf-8\r\n" +
    `content-length: ${Buffer.byteLength(reply.body)}\r\n\r\n${reply.body}`
  );
}

/**
 * Writes the reply and half-closes. Destroying a socket with unread bytes makes the kernel send
 * a reset, which can overtake the answer just written; so what the client still sends is read
 * and dropped for a while, and only then is the socket destroyed. Answers once per connection:
 * `answered` remembers which were.
 */
export function answerAndClose(socket: Duplex, reply: ClosingReply, answered: WeakSet<Duplex>): void {
  if (answered.has(socket)) return;
  answered.add(socket);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.end(rawResponse(reply));
}
