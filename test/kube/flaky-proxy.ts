// A reverse proxy in front of the development API server that answers chosen requests with an
// error status, as an overloaded API server or a failing load balancer would, and can cut the
// open watch streams: the informers' error paths are driven through real HTTP.
import { createServer, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export type RequestKind = "list" | "watch" | "other";

export interface FlakyProxy {
  kubeConfig: KubeConfig;
  /** Every request seen, in order, as `${kind} ${path}`. */
  requests: string[];
  /** The next `count` requests of this kind to `path` are answered with `status` instead. */
  failNext(kind: RequestKind, path: string, count: number, status: number): void;
  /** Ends every open watch stream, as a dropped connection does. */
  endWatches(): void;
  close(): Promise<void>;
}

const kindOf = (method: string | undefined, url: URL): RequestKind =>
  method !== "GET" ? "other" : url.searchParams.get("watch") === "true" ? "watch" : "list";

function failure(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: status }));
}

export async function startFlakyProxy(upstream: string): Promise<FlakyProxy> {
  const failures = new Map<string, { count: number; status: number }>();
  const watches = new Map<ServerResponse, () => void>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", upstream);
    const kind = kindOf(req.method, url);
    requests.push(`${kind} ${url.pathname}`);
    const planned = failures.get(`${kind} ${url.pathname}`);
    if (planned !== undefined && planned.count > 0) {
      planned.count--;
      return failure(res, planned.status);
    }
    const forward = request(url, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // A watch's headers come before any event; the client waits for them.
      res.flushHeaders();
      answer.on("error", () => res.destroy());
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    if (kind === "watch") {
      // Cut the upstream first, so no event is piped into a stream already ended.
      watches.set(res, () => {
        forward.destroy();
        res.end();
      });
      res.on("close", () => watches.delete(res));
    }
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: "flaky",
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: "dev" }],
    contexts: [{ name: "flaky", cluster: "flaky", user: "dev", namespace: "default" }],
    currentContext: "flaky",
  });
  return {
    kubeConfig,
    requests,
    failNext: (kind, path, count, status) => failures.set(`${kind} ${path}`, { count, status }),
    endWatches: () => {
      for (const end of watches.values()) end();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
