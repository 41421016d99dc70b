import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { collectProcessMetrics, registry } from "./index.ts";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Further read-only paths served beside /metrics; undefined for a path it does not serve. */
export type ExtraRoutes = (
  url: URL,
) => Promise<{ status: number; contentType: string; body: string } | undefined>;

function serveExtra(routes: ExtraRoutes, req: IncomingMessage, res: ServerResponse): void {
  routes(new URL(req.url ?? "/", "http://localhost")).then(
    (answer) => {
      if (answer === undefined) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      else res.writeHead(answer.status, { "content-type": answer.contentType }).end(answer.body);
    },
    (e: unknown) =>
      res
        .writeHead(500, { "content-type": "text/plain" })
        .end(`${e instanceof Error ? e.message : String(e)}\n`),
  );
}

/**
 * Serves the registry at /metrics (on 127.0.0.1 unless `host` says otherwise) in the Prometheus text format, on its own port, and the
 * `routes` given (the published checkpoint), GET only.
 */
export async function startMetricsServer(
  port: number,
  host = "127.0.0.1",
  routes?: ExtraRoutes,
): Promise<MetricsServer> {
  collectProcessMetrics();
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url !== "/metrics" && routes !== undefined) {
      serveExtra(routes, req, res);
      return;
    }
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (e: unknown) =>
        res
          .writeHead(500, { "content-type": "text/plain" })
          .end(`${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const a = server.address();
  // The address as bound, so a log line naming it says where it really listens.
  const bound =
    typeof a !== "object" || a === null
      ? `${host}:${port}`
      : a.family === "IPv6"
        ? `[${a.address}]:${a.port}`
        : `${a.address}:${a.port}`;
  return {
    url: `http://${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
