// A minimal HTTPS client for the server tests (self-signed certificates accepted).
import { Agent, request } from "node:https";
import { connect, type TLSSocket } from "node:tls";

export interface Reply {
  status: number;
  text: string;
}

export function agent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });
}

export function post(
  port: number,
  body: string | Buffer,
  options: { agent?: Agent; path?: string; method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/validate",
        method: options.method ?? "POST",
        agent: options.agent ?? false,
        rejectUnauthorized: false,
        headers: { "content-type": "application/json", ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The fingerprint of the certificate a fresh TLS connection is served. */
export function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

export interface RawReply {
  /** Everything the server sent before it closed the connection. */
  text: string;
  /** The client saw an error (a reset) rather than a clean close. */
  error: string | undefined;
  /** False when the client gave up waiting and destroyed the socket itself. */
  closedByServer: boolean;
}

/**
 * Writes exactly `head` over TLS, then `feed` may keep writing; `end` half-closes after `head`.
 * Resolves when the connection closes, or after `waitMs` (then `closedByServer` is false).
 */
export function rawExchange(
  port: number,
  head: string | Buffer,
  options: { end?: boolean; feed?(socket: TLSSocket): void; waitMs?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let gaveUp = false;
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      socket.write(head);
      if (options.end === true) socket.end();
      options.feed?.(socket);
    });
    const timer = setTimeout(() => {
      gaveUp = true;
      socket.destroy();
    }, options.waitMs ?? 10_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e: Error) => (error = e.message));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("utf8"), error, closedByServer: !gaveUp });
    });
  });
}

/** Writes a chunked body of `total` bytes in 64 KiB chunks, as fast as the socket takes them. */
export function pumpChunked(socket: TLSSocket, total: number): void {
  const data = Buffer.alloc(64 * 1024, 0x20);
  const chunk = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]);
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !socket.destroyed && socket.writable) {
      sent += data.length;
      if (!socket.write(chunk)) return void socket.once("drain", pump);
    }
  };
  pump();
}
