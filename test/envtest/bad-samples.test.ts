// Every bad sample through the real kube-apiserver, with no webhook in front: the operator's
// lineage failure is a verdict for that spec (a condition, one Event), not a retry. After the
// verdicts are in, a quiet period must add no ledger entry and (almost) no reconcile.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { ControlPlane } from "./controlplane.ts";
import { startOperatorEnv, type OperatorEnv } from "./operator-env.ts";
import { skipWithoutAssets } from "./assets.ts";
import { waitFor } from "./processes.ts";
import { REFUSED_BY_SCHEMA, sampleFiles, sampleObjects } from "../api/samples.ts";
import type { Ledger } from "../../src/ledger/index.ts";
import { reconciles } from "../../src/metrics/index.ts";

const skip = skipWithoutAssets("bad samples against kube-apiserver");
const QUIET_MS = 4000;
/** Samples whose only fault is one the webhook alone checks (none: the operator refuses image tags too). */
const webhookOnly = new Set<string>([]);

type Status = {
  conditions?: Array<{ type: string; status: string; reason?: string; observedGeneration?: number }>;
};
type Obj = {
  kind: string;
  metadata: { name: string; namespace: string; generation?: number };
  status?: Status;
};

async function reconcileCount(controller: string): Promise<number> {
  const metric = await reconciles.get();
  return metric.values.filter((v) => v.labels["controller"] === controller).reduce((n, v) => n + v.value, 0);
}

describe.skipIf(skip)("bad samples on a real control plane (operator only, no webhook)", () => {
  let cp: ControlPlane;
  let ledger: Ledger;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let env: OperatorEnv | undefined;
  // Those the CRD refuses never reach the operator through the API server (crds.test.ts).
  const bad = sampleFiles("bad")
    .filter((file) => !REFUSED_BY_SCHEMA.has(file))
    .flatMap((file) => sampleObjects(file).map((o) => ({ file, o: o as Obj })));
  const plural = (kind: string) => (kind === "ModelVersion" ? "modelversions" : "modeldeployments");
  const read = async ({ kind, metadata }: Obj) =>
    (await custom.getNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: metadata.namespace,
      plural: plural(kind),
      name: metadata.name,
    })) as Obj;
  /** The condition that carries the verdict for this object's current generation. */
  const verdict = (o: Obj) => {
    const type = o.kind === "ModelVersion" ? "Verified" : "Admitted";
    return o.status?.conditions?.find(
      (c) => c.type === type && (c.observedGeneration ?? o.metadata.generation) === o.metadata.generation,
    );
  };

  beforeAll(async () => {
    env = await startOperatorEnv("bad-samples", { controlPlane: { controllerManager: false } });
    ({ cp, ledger } = env);
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"])
      for (const o of sampleObjects(file)) await objects.create(o as unknown as KubernetesObject);
    for (const { o } of bad) await objects.create(o as unknown as KubernetesObject);
  }, 120_000);

  afterAll(async () => env?.stop());

  it("gives every bad object a verdict, then stays quiet: no appends, no reconcile storm", async () => {
    await waitFor(
      "a verdict on every bad object",
      async () => {
        for (const { o } of bad) if (verdict(await read(o)) === undefined) return false;
        return true;
      },
      60_000,
    );
    for (const { file, o } of bad.filter((b) => b.o.kind === "ModelDeployment" && !webhookOnly.has(b.file)))
      expect(verdict(await read(o))?.status, `${file}: ${o.metadata.name} Admitted`).toBe("False");
    const settledSize = await ledger.size();
    const settledReconciles = await reconcileCount("modelversion");
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(await ledger.size(), "entries appended after the verdicts").toBe(settledSize);
    const during = (await reconcileCount("modelversion")) - settledReconciles;
    // Periodic resyncs may look again; a storm is tens a second.
    expect(during, `modelversion reconciles in ${QUIET_MS} ms of quiet`).toBeLessThanOrEqual(2);
  }, 90_000);

  it("records each bad ModelVersion's registration once, with its failed checks", async () => {
    const size = await ledger.size();
    const registered = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      const { entry } = (await ledger.get(i)).envelope;
      if (entry.kind !== "ModelVersionRegistered") continue;
      const name = entry.subject.name;
      registered.set(name, (registered.get(name) ?? 0) + 1);
    }
    for (const { o } of bad.filter((b) => b.o.kind === "ModelVersion"))
      expect(registered.get(o.metadata.name), o.metadata.name).toBe(1);
  });

  it("emits one Event per recorded entry about a bad ModelVersion, not one per reconcile", async () => {
    const size = await ledger.size();
    const entries = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      const { entry } = (await ledger.get(i)).envelope;
      entries.set(entry.subject.name, (entries.get(entry.subject.name) ?? 0) + 1);
    }
    const events = await core.listNamespacedEvent({ namespace: "ml" });
    for (const { o } of bad.filter((b) => b.o.kind === "ModelVersion")) {
      const about = events.items.filter((e) => e.involvedObject.name === o.metadata.name);
      const total = about.reduce((n, e) => n + (e.count ?? 1), 0);
      const reasons = about.map((e) => `${e.reason}×${e.count ?? 1}`).join(", ");
      expect(total, `Events about ${o.metadata.name}: ${reasons}`).toBe(entries.get(o.metadata.name));
    }
  });
});
