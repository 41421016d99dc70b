// A few Kubernetes API paths over plain HTTP, enough for client-node's list-then-watch and GETs:
// the kube source is tested against it without a control plane (test/envtest covers the real one).
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

export interface FakeApiServer {
  kubeConfig: KubeConfig;
  /** Adds, changes or removes an object and tells the watchers of its collection. */
  emit(collection: string, type: "ADDED" | "MODIFIED" | "DELETED", object: Obj): void;
  gets: string[];
  close(): Promise<void>;
}

const COLLECTIONS = [
  "/apis/modelchain.io/v1alpha1/modelversions",
  "/apis/modelchain.io/v1alpha1/modeltrustpolicies",
  "/api/v1/namespaces",
  // Signature material (listed with a label selector, which this fake does not filter by).
  "/api/v1/configmaps",
  "/api/v1/secrets",
];

export async function startFakeApiServer(initial: Record<string, Obj[]>): Promise<FakeApiServer> {
  let version = 1;
  const stores = new Map(
    COLLECTIONS.map((c) => [
      c,
      new Map((initial[c] ?? []).map((o) => [`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o])),
    ]),
  );
  const watchers = new Map(COLLECTIONS.map((c) => [c, new Set<ServerResponse>()]));
  const gets: string[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const notFound = (res: ServerResponse) =>
    json(res, 404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const store = stores.get(url.pathname);
    if (store !== undefined) {
      if (url.searchParams.get("watch") === "true") {
        res.writeHead(200, { "content-type": "application/json" });
        res.write("");
        watchers.get(url.pathname)?.add(res);
        res.on("close", () => watchers.get(url.pathname)?.delete(res));
        return;
      }
      return json(res, 200, {
        apiVersion: "v1",
        kind: "List",
        metadata: { resourceVersion: String(version) },
        items: [...store.values()],
      });
    }
    gets.push(url.pathname);
    const mv = /^\/apis\/modelchain\.io\/v1alpha1\/namespaces\/([^/]+)\/modelversions\/([^/]+)$/.exec(
      url.pathname,
    );
    if (mv) {
      const found = stores.get(COLLECTIONS[0] ?? "")?.get(`${mv[1]}/${mv[2]}`);
      return found ? json(res, 200, found) : notFound(res);
    }
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname);
    if (ns) {
      const found = stores.get("/api/v1/namespaces")?.get(`/${ns[1]}`);
      return found ? json(res, 200, found) : notFound(res);
    }
    notFound(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      {
        name: "fake",
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: "admin", token: "t" }],
    contexts: [{ name: "fake", cluster: "fake", user: "admin" }],
    currentContext: "fake",
  });
  return {
    kubeConfig,
    gets,
    emit: (collection, type, object) => {
      version++;
      const o = { ...object, metadata: { ...object.metadata, resourceVersion: String(version) } };
      const key = `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
      if (type === "DELETED") stores.get(collection)?.delete(key);
      else stores.get(collection)?.set(key, o);
      for (const w of watchers.get(collection) ?? []) w.write(`${JSON.stringify({ type, object: o })}\n`);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
