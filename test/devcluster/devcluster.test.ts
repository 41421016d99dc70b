import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { startDevCluster, type DevCluster } from "../../src/devcluster/index.ts";
import { installCrds } from "../../src/controller/index.ts";

let cluster: DevCluster;
let core: CoreV1Api;
beforeAll(async () => {
  cluster = await startDevCluster();
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "ml", labels: { team: "ml" } } } });
});
afterAll(async () => cluster?.stop());

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e: unknown) => (e instanceof ApiException ? e.code : -1),
  );
const wait = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("the development API server, through @kubernetes/client-node", () => {
  it("creates, reads, lists by label, updates with conflict detection and deletes", async () => {
    await core.createNamespacedConfigMap({
      namespace: "ml",
      body: { metadata: { name: "a", labels: { app: "x" } }, data: { k: "1" } },
    });
    await core.createNamespacedConfigMap({
      namespace: "ml",
      body: { metadata: { name: "b", labels: { app: "y" } } },
    });
    expect(
      await codeOf(core.createNamespacedConfigMap({ namespace: "ml", body: { metadata: { name: "a" } } })),
    ).toBe(409);
    const a = await core.readNamespacedConfigMap({ namespace: "ml", name: "a" });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      (await core.listNamespacedConfigMap({ namespace: "ml", labelSelector: "app in (x,z)" })).items.map(
        (c) => c.metadata?.name,
      ),
    ).toEqual(["a"]);
    expect(
      (await core.listNamespacedConfigMap({ namespace: "ml", labelSelector: "app!=x" })).items.map(
        (c) => c.metadata?.name,
      ),
    ).toEqual(["b"]);
    const stale: V1ConfigMap = { ...a, data: { k: "2" } };
    await core.replaceNamespacedConfigMap({ namespace: "ml", name: "a", body: stale });
    expect(await codeOf(core.replaceNamespacedConfigMap({ namespace: "ml", name: "a", body: stale }))).toBe(
      409,
    );
    await core.deleteNamespacedConfigMap({ namespace: "ml", name: "b" });
    expect(await codeOf(core.readNamespacedConfigMap({ namespace: "ml", name: "b" }))).toBe(404);
  });

  it("applies merge, JSON (with a failing test op) and server-side apply patches", async () => {
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const json = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
    await core.patchNamespacedConfigMap(
      { namespace: "ml", name: "a", body: { data: { extra: "y" } } },
      merge,
    );
    expect((await core.readNamespacedConfigMap({ namespace: "ml", name: "a" })).data).toEqual({
      k: "2",
      extra: "y",
    });
    expect(
      await codeOf(
        core.patchNamespacedConfigMap(
          {
            namespace: "ml",
            name: "a",
            body: [
              { op: "test", path: "/data/k", value: "nope" },
              { op: "remove", path: "/data/k" },
            ],
          },
          json,
        ),
      ),
    ).toBe(422);
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
    await objects.patch(
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "applied", namespace: "ml" },
        data: { a: "1" },
      } as KubernetesObject,
      undefined,
      undefined,
      "me",
      true,
      PatchStrategy.ServerSideApply,
    );
    const applied = await core.readNamespacedConfigMap({ namespace: "ml", name: "applied" });
    expect(applied.data).toEqual({ a: "1" });
    expect(applied.metadata?.managedFields?.[0]).toMatchObject({ manager: "me", operation: "Apply" });
  });

  it("serves CRDs with a status subresource kept apart from the main resource", async () => {
    await installCrds(cluster.kubeConfig);
    const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const mv = {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelVersion",
      metadata: { name: "m", namespace: "ml" },
      spec: { model: "x" },
    };
    const created = (await custom.createNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modelversions",
      body: mv,
    })) as { metadata: { generation: number } };
    expect(created.metadata.generation).toBe(1);
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: "modelchain.io",
        version: "v1alpha1",
        namespace: "ml",
        plural: "modelversions",
        name: "m",
        body: { status: { specDigest: "x" }, spec: { model: "ignored" } },
      },
      merge,
    );
    const after = (await custom.getNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modelversions",
      name: "m",
    })) as { spec: { model: string }; status: { specDigest: string }; metadata: { generation: number } };
    expect(after).toMatchObject({
      spec: { model: "x" },
      status: { specDigest: "x" },
      metadata: { generation: 1 },
    });
    await custom.patchNamespacedCustomObject(
      {
        group: "modelchain.io",
        version: "v1alpha1",
        namespace: "ml",
        plural: "modelversions",
        name: "m",
        body: { spec: { model: "y" }, status: { specDigest: "z" } },
      },
      merge,
    );
    const bumped = (await custom.getNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modelversions",
      name: "m",
    })) as typeof after;
    expect(bumped).toMatchObject({
      spec: { model: "y" },
      status: { specDigest: "x" },
      metadata: { generation: 2 },
    });
  });

  it("keeps an object with finalizers until they are removed, and collects its dependents", async () => {
    const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
    const owner = await core.createNamespacedConfigMap({
      namespace: "ml",
      body: { metadata: { name: "owner", finalizers: ["x/y"] } },
    });
    await apps.createNamespacedDeployment({
      namespace: "ml",
      body: {
        metadata: {
          name: "dep",
          ownerReferences: [
            { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata?.uid ?? "" },
          ],
        },
        spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } } } },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: "ml", name: "owner" });
    expect(
      (await core.readNamespacedConfigMap({ namespace: "ml", name: "owner" })).metadata?.deletionTimestamp,
    ).toBeDefined();
    await core.patchNamespacedConfigMap(
      { namespace: "ml", name: "owner", body: { metadata: { finalizers: null } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await codeOf(core.readNamespacedConfigMap({ namespace: "ml", name: "owner" }))).toBe(404);
    expect(await codeOf(apps.readNamespacedDeployment({ namespace: "ml", name: "dep" }))).toBe(404);
  });

  it("feeds informers, which relist after their watch expires with a compacted resourceVersion", async () => {
    let lists = 0;
    const informer = makeInformer(cluster.kubeConfig, "/api/v1/namespaces/ml/configmaps", () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: "ml" });
    });
    const seen = new Set<string>();
    informer.on("add", (o) => seen.add(o.metadata?.name ?? ""));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: "ml", body: { metadata: { name: "before" } } });
    await wait(() => seen.has("before"));
    cluster.expireWatches(true);
    await core.createNamespacedConfigMap({ namespace: "ml", body: { metadata: { name: "after" } } });
    await wait(() => seen.has("after") && informer.get("after", "ml") !== undefined, 10_000);
    expect(lists).toBe(2);
    await informer.stop();
  });

  it("answers a watch from a resourceVersion older than its history with 410 Gone", async () => {
    cluster.store.compact();
    const res = await fetch(`${cluster.url}/api/v1/namespaces/ml/configmaps?watch=true&resourceVersion=1`);
    const line = JSON.parse((await res.text()).split("\n")[0] ?? "{}") as {
      type: string;
      object: { code: number };
    };
    expect(line).toMatchObject({ type: "ERROR", object: { code: 410 } });
  });
});
