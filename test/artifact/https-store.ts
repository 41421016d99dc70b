// A real HTTPS object server on loopback for the fetch tests, with the failures a store or the
// network between produces: a body cut mid-stream (once, or every time), ranges honoured or
// ignored, a bearer token required, a Hub-style redirect to another host name.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StoredObject {
  bytes: Buffer;
  /** Cut the body after this many bytes on the first `cutTimes` requests. */
  cutAt?: number;
  cutTimes?: number;
  /** Answer every request with the whole object (no Range support). */
  ignoreRange?: boolean;
  /** Required `authorization: Bearer <token>`. */
  token?: string;
  /** Redirect to this path on https://localhost (another host name than 127.0.0.1). */
  redirectTo?: string;
  status?: number;
}

export interface SeenRequest {
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  host: string | undefined;
}

export interface HttpsStore {
  url(path: string): string;
  put(path: string, object: StoredObject): void;
  seen: SeenRequest[];
  close(): Promise<void>;
}

function etagOf(bytes: Buffer): string {
  return `"${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}"`;
}

function parseRange(header: string | undefined, size: number): number | undefined {
  const m = header === undefined ? null : /^bytes=(\d+)-$/.exec(header);
  const start = m === null ? undefined : Number(m[1]);
  return start !== undefined && start < size ? start : undefined;
}

function serveObject(o: StoredObject, req: IncomingMessage, res: ServerResponse, served: number): void {
  const etag = etagOf(o.bytes);
  const ifRange = req.headers["if-range"];
  const start =
    o.ignoreRange || (ifRange !== undefined && ifRange !== etag)
      ? undefined
      : parseRange(req.headers.range, o.bytes.length);
  const body = o.bytes.subarray(start ?? 0);
  const headers: Record<string, string | number> = {
    etag,
    "content-length": body.length,
    "accept-ranges": "bytes",
  };
  if (start !== undefined)
    headers["content-range"] = `bytes ${start}-${o.bytes.length - 1}/${o.bytes.length}`;
  res.writeHead(start === undefined ? 200 : 206, headers);
  const cut = o.cutAt !== undefined && served < (o.cutTimes ?? Infinity);
  if (!cut) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, Math.max(0, (o.cutAt ?? 0) - (start ?? 0))), () => res.destroy());
}

export async function startHttpsStore(certFile: string, keyFile: string): Promise<HttpsStore> {
  const objects = new Map<string, StoredObject>();
  const served = new Map<string, number>();
  const seen: SeenRequest[] = [];
  const server: Server = createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    (req, res) => {
      const path = (req.url ?? "").split("?")[0] ?? "";
      seen.push({
        path,
        range: req.headers.range,
        authorization: req.headers.authorization,
        host: req.headers.host,
      });
      const o = objects.get(path);
      if (o === undefined) return void res.writeHead(404).end();
      if (o.token !== undefined && req.headers.authorization !== `Bearer ${o.token}`)
        return void res.writeHead(403).end();
      if (o.status !== undefined) return void res.writeHead(o.status).end();
      if (o.redirectTo !== undefined)
        return void res.writeHead(302, { location: `https://localhost:${port()}${o.redirectTo}` }).end();
      const n = served.get(path) ?? 0;
      served.set(path, n + 1);
      serveObject(o, req, res, n);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (): number => (server.address() as AddressInfo).port;
  return {
    url: (path) => `https://127.0.0.1:${port()}${path}`,
    put: (path, object) => objects.set(path, object),
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
