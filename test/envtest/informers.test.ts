import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Pod,
} from "@kubernetes/client-node";
import pino from "pino";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { skipWithoutAssets } from "./assets.ts";
import { waitFor } from "./processes.ts";
import { sampleObjects } from "../api/samples.ts";
import { MemoryLedger } from "../../src/ledger/index.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";
import { podForDrift, watchResource } from "../../src/kube/index.ts";

const skip = skipWithoutAssets("informer recovery against kube-apiserver + etcd");

async function etcd(url: string, path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, any>;
}

describe.skipIf(skip)("informers across a broken watch", () => {
  let cp: ControlPlane;
  let operator: Operator;
  const ledger = new MemoryLedger();
  const registered = async () => {
    let n = 0;
    for (let i = 0; i < (await ledger.size()); i++)
      if ((await ledger.get(i)).envelope.entry.kind === "ModelVersionRegistered") n++;
    return n;
  };

  beforeAll(async () => {
    // Without the watch cache, watches are served by etcd, so a compacted resourceVersion is 410 Gone.
    cp = await startControlPlane({ apiServerArgs: ["--watch-cache=false"] });
    operator = await startOperator({
      kubeConfig: cp.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "envtest",
      log: pino({ level: "silent" }),
    });
    await operator.synced;
  });
  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
  });

  it("relists after the API server comes back with the informers' resourceVersion compacted (410 Gone)", async () => {
    const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml"])
      for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
    await waitFor("first registration", async () => (await registered()) === 1, 30_000);

    await cp.stopApiServer();
    const head = await etcd(cp.etcdUrl, "/v3/kv/range", { key: Buffer.from("/").toString("base64") });
    const revision = Number(head["header"]["revision"]);
    await etcd(cp.etcdUrl, "/v3/kv/compaction", { revision, physical: true });
    const stale = await etcd(cp.etcdUrl, "/v3/kv/range", {
      key: Buffer.from("/").toString("base64"),
      revision: revision - 1,
    }).then(
      () => "readable",
      (e: Error) => e.message,
    );
    expect(stale).toMatch(/compacted/);
    await cp.startApiServer();

    for (const o of sampleObjects("fine-tuned.yaml")) await objects.create(o as KubernetesObject);
    await waitFor(
      "registration seen by the restarted informers",
      async () => (await registered()) === 2,
      90_000,
    );
  });

  it("caches Pods trimmed to what drift reads, from the list and from watch events alike", async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const pod = (name: string): V1Pod => ({
      metadata: { name, namespace: "default", labels: { "modelchain.io/model-version": "m" } },
      spec: {
        containers: [
          {
            name: "server",
            image: "registry.example/s@sha256:" + "a".repeat(64),
            env: [{ name: "K", value: "v" }],
          },
        ],
        initContainers: [{ name: "fetch", image: "registry.example/f@sha256:" + "b".repeat(64) }],
      },
    });
    await core.createNamespacedPod({ namespace: "default", body: pod("listed") });
    const events: V1Pod[] = [];
    const watched = watchResource<V1Pod>({
      resource: "pods",
      kubeConfig: cp.kubeConfig,
      path: "/api/v1/pods",
      list: () => core.listPodForAllNamespaces({ labelSelector: "modelchain.io/model-version" }),
      labelSelector: "modelchain.io/model-version",
      transform: podForDrift,
      onChange: (p) => events.push(p),
      onDelete: () => undefined,
      onError: () => undefined,
    });
    try {
      await watched.synced;
      await core.createNamespacedPod({ namespace: "default", body: pod("watched") });
      const imageID = "registry.example/s@sha256:" + "c".repeat(64);
      await core.patchNamespacedPodStatus(
        {
          namespace: "default",
          name: "watched",
          body: {
            status: {
              containerStatuses: [{ name: "server", image: "s", imageID, ready: true, restartCount: 0 }],
              initContainerStatuses: [
                {
                  name: "fetch",
                  image: "f",
                  imageID: "f",
                  ready: false,
                  restartCount: 0,
                  state: { terminated: { exitCode: 3, message: "digest mismatch" } },
                },
              ],
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      await waitFor(
        "the status update through the watch",
        async () =>
          watched.cache.get("watched", "default")?.status?.containerStatuses?.[0]?.imageID === imageID,
        30_000,
      );
      for (const name of ["listed", "watched"]) {
        const cached = watched.cache.get(name, "default");
        expect(cached?.metadata?.managedFields, name).toBeUndefined();
        expect(cached?.metadata?.resourceVersion, name).toMatch(/^\d+$/);
        expect(cached?.metadata?.uid, name).toBeDefined();
        expect(cached?.spec?.containers, name).toEqual([
          { name: "server", image: pod(name).spec?.containers[0]?.image },
        ]);
        expect(cached?.spec?.initContainers?.[0]?.name, name).toBe("fetch");
        expect(Object.keys(cached?.spec ?? {}).sort(), name).toEqual(["containers", "initContainers"]);
      }
      const init = watched.cache.get("watched", "default")?.status?.initContainerStatuses?.[0];
      expect(init?.state?.terminated).toMatchObject({ exitCode: 3, message: "digest mismatch" });
      expect(events.every((e) => e.metadata?.managedFields === undefined)).toBe(true);
    } finally {
      await watched.stop();
    }
  });
});
