import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import pino from "pino";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { skipWithoutAssets } from "./assets.ts";
import { waitFor } from "./processes.ts";
import { sampleObjects } from "../api/samples.ts";
import { MemoryLedger } from "../../src/ledger/index.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";

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
});
