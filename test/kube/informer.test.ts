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

  const watchNamespaces = (backoff = BACKOFF, pageSize?: number): Watched<V1Namespace> => {
    const core = proxy.kubeConfig.makeApiClient(CoreV1Api);
    return watchResource<V1Namespace>({
      resource: "namespaces",
      kubeConfig: proxy.kubeConfig,
      path: NAMESPACES,
      list: (page) =>
        core.listNamespace(
          page === undefined
            ? {}
            : { limit: page.limit, ...(page.continue === undefined ? {} : { _continue: page.continue }) },
        ),
      ...(pageSize === undefined ? {} : { pageSize }),
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

  it("lists page by page, each page transformed before the next, and caches every object once", async () => {
    proxy = await startFlakyProxy(cluster.url);
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await core.createNamespace({ body: { metadata: { name: `paged-${i}` } } });
    const all = (await core.listNamespace()).items.map((n) => n.metadata?.name).sort();
    watched = watchNamespaces(BACKOFF, 2);
    await watched.synced;
    expect(lists()).toBe(Math.ceil(all.length / 2));
    expect(
      watched.cache
        .list()
        .map((n) => n.metadata?.name)
        .sort(),
    ).toEqual(all);
    for (let i = 0; i < 5; i++) await core.deleteNamespace({ name: `paged-${i}` });
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

describe("a quiet watch whose resourceVersion the API server compacts away", () => {
  let cluster: DevCluster;
  let proxy: FlakyProxy;
  let watched: Watched<V1Namespace> | undefined;
  beforeAll(async () => {
    // Ten events of history: writes to other resources compact the namespaces' resourceVersion.
    cluster = await startDevCluster({ historyLimit: 10 });
    proxy = await startFlakyProxy(cluster.url);
  });
  afterAll(async () => {
    await watched?.stop();
    await proxy?.close();
    await cluster?.stop();
  });

  it("resumes from the last bookmark after a reconnect instead of relisting (410 Gone)", async () => {
    const core = proxy.kubeConfig.makeApiClient(CoreV1Api);
    watched = watchResource<V1Namespace>({
      resource: "namespaces",
      kubeConfig: proxy.kubeConfig,
      path: NAMESPACES,
      list: () => core.listNamespace(),
      onChange: () => {},
      onDelete: () => {},
      onError: () => {},
    });
    await watched.synced;
    const lists = () => proxy.requests.filter((r) => r === `list ${NAMESPACES}`).length;
    const watches = () => proxy.requests.filter((r) => r === `watch ${NAMESPACES}`).length;
    expect(lists()).toBe(1);
    const other = cluster.kubeConfig.makeApiClient(CoreV1Api);
    await other.createNamespace({ body: { metadata: { name: "busy" } } });
    for (let i = 0; i < 30; i++)
      await other.createNamespacedConfigMap({ namespace: "busy", body: { metadata: { name: `c-${i}` } } });
    // The development server sends a bookmark a second; wait for one past the compaction.
    await new Promise((r) => setTimeout(r, 1_500));
    proxy.endWatches();
    await until("the watch reconnecting", () => watches() === 2);
    await other.createNamespace({ body: { metadata: { name: "after" } } });
    const cache = watched.cache;
    await until(
      "the namespace created after the reconnect reaching the cache",
      () => cache.get("after") !== undefined,
    );
    expect(lists()).toBe(1);
  });
});
