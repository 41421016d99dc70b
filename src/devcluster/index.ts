// A small in-memory Kubernetes API server, for `modelchain demo`, fast tests and benchmarks.
// A development aid: the operator never uses it. Simplifications against a real
// kube-apiserver: no authentication, schema validation or defaulting; strategic merge and
// server-side apply are merge patches (one managedFields entry per manager, no conflicts);
// garbage collection is immediate; a watch history of `historyLimit` events stands in for
// etcd compaction.
import { createServer, type Server } from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { makeHandlers, type AdmissionHook } from "./handlers.ts";
import { ResourceRegistry } from "./resources.ts";
import { makeRequestHandler, watchers } from "./server.ts";
import { Store } from "./store.ts";

export { ApiError, type KubeObject, type Resource } from "./store.ts";
export type { AdmissionHook } from "./handlers.ts";
export { simulateRollouts } from "./simulate.ts";

export interface DevCluster {
  url: string;
  kubeConfig: KubeConfig;
  store: Store;
  registry: ResourceRegistry;
  /** Ends every open watch; with `compact`, their resourceVersions are gone too (410 on resume). */
  expireWatches(compact?: boolean): void;
  stop(): Promise<void>;
}

export interface DevClusterOptions {
  port?: number;
  admit?: AdmissionHook;
  historyLimit?: number;
  uidSeed?: string;
  clock?: () => Date;
}

export async function startDevCluster(options: DevClusterOptions = {}): Promise<DevCluster> {
  const store = new Store({
    ...(options.historyLimit === undefined ? {} : { historyLimit: options.historyLimit }),
    ...(options.uidSeed === undefined ? {} : { uidSeed: options.uidSeed }),
  });
  const registry = new ResourceRegistry();
  const handlers = makeHandlers(store, registry, options.admit, options.clock ?? (() => new Date()));
  const server: Server = createServer(
    (req, res) => void makeRequestHandler(store, registry, handlers)(req, res),
  );
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "devcluster", server: url, skipTLSVerify: true }],
    users: [{ name: "dev" }],
    contexts: [{ name: "devcluster", cluster: "devcluster", user: "dev", namespace: "default" }],
    currentContext: "devcluster",
  });
  return {
    url,
    kubeConfig,
    store,
    registry,
    expireWatches(compact = true) {
      if (compact) store.compact();
      for (const w of watchers) w.end();
    },
    stop: async () => {
      for (const w of watchers) w.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
