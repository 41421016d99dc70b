import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiException, CoreV1Api } from "@kubernetes/client-node";
import { startDevCluster, type DevCluster } from "../../src/devcluster/index.ts";
import { describeKubeError, rawList } from "../../src/kube/index.ts";

describe("rawList: list pages as the API server sent them, parsed once", () => {
  let cluster: DevCluster;
  beforeAll(async () => {
    cluster = await startDevCluster();
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "ml" } } });
    for (let i = 0; i < 5; i++)
      await core.createNamespacedConfigMap({
        namespace: "ml",
        body: { metadata: { name: `c-${i}`, labels: i % 2 === 0 ? { even: "yes" } : {} } },
      });
  });
  afterAll(async () => cluster?.stop());

  it("lists with the label selector and pages, objects as plain JSON", async () => {
    const list = rawList(cluster.kubeConfig, {
      resource: "configmaps",
      path: "/api/v1/configmaps",
      labelSelector: "even",
    });
    const first = await list({ limit: 2 });
    expect(first.items.map((c) => c.metadata?.name)).toEqual(["c-0", "c-2"]);
    const token = (first.metadata as { continue?: string }).continue;
    expect(token).toBeTypeOf("string");
    const rest = await list({ limit: 2, continue: token as string });
    expect(rest.items.map((c) => c.metadata?.name)).toEqual(["c-4"]);
    expect((rest.metadata as { continue?: string }).continue).toBeUndefined();
    // Not client-node's model classes: a timestamp stays the string the server sent.
    expect(typeof first.items[0]?.metadata?.creationTimestamp).toBe("string");
  });

  it("fails with the API server's status, as client-node's calls do", async () => {
    const list = rawList(cluster.kubeConfig, { resource: "widgets", path: "/apis/example.com/v1/widgets" });
    const error: unknown = await list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(404);
    expect(describeKubeError(error)).toMatch(/404/);
  });
});
