import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CoreV1Api, type V1Namespace } from "@kubernetes/client-node";
import { startDevCluster, type DevCluster } from "../../src/devcluster/index.ts";
import { InformerFailed, watchResource, type Watched } from "../../src/kube/index.ts";
import { startFlakyProxy, type FlakyProxy } from "./flaky-proxy.ts";

const NAMESPACES = "/api/v1/namespaces";
/** Restart delays are the ceilings less a quarter (jitter ½ at a middle draw): 15, 30, 60, 60 ms… */
const BACKOFF = { baseMs: 20, maxMs: 80 };
const MIDDLE = () => 0.5;

const until = async (what: string, cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`${what} did not happen within 5 s`);
};

describe("the shared informer (client-node's, restarted with backoff) through a flaky API server", () => {
  let cluster: DevCluster;
  let proxy: FlakyProxy;
  let watched: Watched<V1Namespace> | undefined;
  const failures: Array<{ error: InformerFailed; restartInMs: number }> = [];

  beforeAll(async () => {
    cluster = await startDevCluster();
    await cluster.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "ml" } } });
  });
  afterEach(async () => {
    await watched?.stop();
    watched = undefined;
    failures.length = 0;
    await proxy?.close();
  });
  afterAll(async () => cluster?.stop());

  const watchNamespaces = (backoff = BACKOFF): Watched<V1Namespace> => {
    const core = proxy.kubeConfig.makeApiClient(CoreV1Api);
    return watchResource<V1Namespace>({
      resource: "namespaces",
      kubeConfig: proxy.kubeConfig,
      path: NAMESPACES,
      list: () => core.listNamespace(),
      onChange: () => {},
      onDelete: () => {},
      onError: (error, restartInMs) => failures.push({ error, restartInMs }),
      backoff,
      random: MIDDLE,
    });
  };
  const lists = () => proxy.requests.filter((r) => r === `list ${NAMESPACES}`).length;

  it("reports synced only after a list succeeds, restarting after each failed list with growing delays", async () => {
    proxy = await startFlakyProxy(cluster.url);
    proxy.failNext("list", NAMESPACES, 4, 500);
    watched = watchNamespaces();
    let listsWhenSynced = -1;
    void watched.synced.then(() => (listsWhenSynced = lists()));
    await watched.synced;
    expect(listsWhenSynced).toBe(5);
    expect(watched.cache.get("ml")?.metadata?.name).toBe("ml");
    expect(failures.map((f) => f.restartInMs)).toEqual([15, 30, 60, 60]);
    for (const { error } of failures) {
      expect(error).toBeInstanceOf(InformerFailed);
      expect(error).toMatchObject({
        resource: "namespaces",
        message: expect.stringMatching(/^informer for namespaces failed: .*500/),
      });
    }
  });

  it("restarts a watch that failed with a non-410 status, resuming where it was, its backoff reset by the last good start", async () => {
    proxy = await startFlakyProxy(cluster.url);
    proxy.failNext("list", NAMESPACES, 1, 500);
    watched = watchNamespaces();
    await watched.synced;
    expect(failures.map((f) => f.restartInMs)).toEqual([15]);
    const listsBefore = lists();

    proxy.failNext("watch", NAMESPACES, 2, 503);
    proxy.endWatches();
    await cluster.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: "late" } } });
    const cache = watched.cache;
    await until(
      "the namespace created while the watch was down reaching the cache",
      () => cache.get("late") !== undefined,
    );

    expect(failures.map((f) => f.restartInMs)).toEqual([15, 15, 30]);
    expect(failures.at(-1)?.error.message).toMatch(/503|Service Unavailable/);
    expect(lists()).toBe(listsBefore);
    await cluster.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: "late" });
  });

  it("after stop, a pending restart never reaches the API server", async () => {
    proxy = await startFlakyProxy(cluster.url);
    proxy.failNext("list", NAMESPACES, 1_000, 500);
    watched = watchNamespaces({ baseMs: 40, maxMs: 40 });
    await until("the first failure", () => failures.length === 1);
    await watched.stop();
    const seen = proxy.requests.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(proxy.requests.length).toBe(seen);
    expect(failures).toHaveLength(1);
  });
});
