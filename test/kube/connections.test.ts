import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { withSharedConnections } from "../../src/kube/index.ts";

describe("API calls through one shared connection pool", () => {
  let server: Server;
  let url = "";
  let connections = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "NamespaceList", apiVersion: "v1", metadata: {}, items: [] }));
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const kubeConfig = () => {
    const kc = new KubeConfig();
    // skipTLSVerify: client-node then builds an Agent with TLS options, as for a real cluster's CA.
    kc.loadFromOptions({
      clusters: [{ name: "c", server: url, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "c", cluster: "c", user: "u" }],
      currentContext: "c",
    });
    return kc;
  };
  const calls = async (kc: KubeConfig, n: number) => {
    const core = kc.makeApiClient(CoreV1Api);
    const before = connections;
    for (let i = 0; i < n; i++) await core.listNamespace();
    return connections - before;
  };

  it("reuses a connection or two for many sequential calls, where client-node alone opens one per call", async () => {
    expect(await calls(kubeConfig(), 20)).toBe(20);
    const kc = withSharedConnections(kubeConfig());
    expect(withSharedConnections(kc)).toBe(kc);
    // undici may take a second connection while the first is still being released.
    expect(await calls(kc, 20)).toBeLessThanOrEqual(2);
  });
});
