// A plain-HTTP front for the real kube-apiserver on loopback that holds back every watch event by
// `lagMs` (lists and GETs pass at once): an informer behind it sees each change late, as one
// behind a busy API server or a slow network does, so what a webhook decides from a stale cache
// can be tested deterministically.
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Transform } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import type { ControlPlane } from "./controlplane.ts";

export interface LaggingProxy {
  /** A kubeconfig file (admin token) that reaches the API server through the proxy. */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  close(): Promise<void>;
}

/** Passes chunks on in order, each `ms` after it arrived. */
function delayed(ms: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      setTimeout(() => this.push(chunk), ms);
      done();
    },
    flush(done) {
      setTimeout(done, ms);
    },
  });
}

export async function startLaggingProxy(cp: ControlPlane, lagMs: number, dir: string): Promise<LaggingProxy> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", cp.apiServerUrl);
    const watch = url.searchParams.get("watch") === "true";
    const headers = { ...req.headers, host: url.host, authorization: `Bearer ${cp.token}` };
    const upstream = httpsRequest(url, { method: req.method, headers, ca: cp.caPem }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.flushHeaders();
      answer.on("error", () => res.destroy());
      (watch ? answer.pipe(delayed(lagMs)) : answer).pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "lagging", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "admin", token: cp.token }],
    contexts: [{ name: "lagging", cluster: "lagging", user: "admin", namespace: "default" }],
    currentContext: "lagging",
  });
  const kubeconfigPath = join(dir, "lagging-kubeconfig");
  writeFileSync(kubeconfigPath, kubeConfig.exportConfig());
  return {
    kubeconfigPath,
    kubeConfig,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
