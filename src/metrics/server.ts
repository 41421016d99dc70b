import { createServer, type Server } from "node:http";
import { collectProcessMetrics, registry } from "./index.ts";

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the registry at /metrics in the Prometheus text format, on its own port. */
export async function startMetricsServer(port: number, host = "0.0.0.0"): Promise<MetricsServer> {
  collectProcessMetrics();
  const server: Server = createServer((req, res) => {
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
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  const actual = typeof address === "object" && address !== null ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
