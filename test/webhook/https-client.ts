// A minimal HTTPS client for the server tests (self-signed certificates accepted).
import { Agent, request } from "node:https";
import { connect } from "node:tls";

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
