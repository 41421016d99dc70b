// A GPU-serving ModelDeployment (samples/gpu-deployment.yaml) through the real kube-apiserver and
// kube-controller-manager: the owned Deployment carries every serving field, the owned Service is
// created and put back, a toleration change is one ConfigChanged naming it, the HF token's value
// never reaches the ledger files, and once rolled out nothing is written again (server-side
// defaults of probes, resources and security contexts must not read as drift).
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  NodeV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1Service,
} from "@kubernetes/client-node";
import type { ControlPlane } from "./controlplane.ts";
import { startOperatorEnv, type OperatorEnv } from "./operator-env.ts";
import { skipWithoutAssets } from "./assets.ts";
import { waitFor } from "./processes.ts";
import { markPodsReady } from "./pods.ts";
import { sampleObjects } from "../api/samples.ts";
import type { Ledger, LedgerEntry } from "../../src/ledger/index.ts";
import { reconciles } from "../../src/metrics/index.ts";
import type { ModelDeployment } from "../../src/api/index.ts";

const skip = skipWithoutAssets("GPU-serving ModelDeployment against kube-apiserver");
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const QUIET_MS = 4000;
const NAME = "support-chat-gpu";
const SELECTOR = `modelchain.io/model-deployment=${NAME}`;
const sample = sampleObjects("gpu-deployment.yaml")[0] as unknown as ModelDeployment;
/** The HF token's value: it must appear in no ledger file. */
const SECRET = `hf_${randomBytes(16).toString("hex")}`;

/** Every byte of every file under `dir`. */
function filesUnder(dir: string): Array<{ file: string; bytes: Buffer }> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const file = join(d.parentPath, d.name);
      return { file, bytes: readFileSync(file) };
    });
}

describe.skipIf(skip)("a GPU-serving ModelDeployment on a real control plane", () => {
  let cp: ControlPlane;
  let ledger: Ledger;
  let objects: KubernetesObjectApi;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let env: OperatorEnv | undefined;
  let dir = "";

  const entries = async (): Promise<LedgerEntry[]> => {
    const out: LedgerEntry[] = [];
    for (let i = 0; i < (await ledger.size()); i++) out.push((await ledger.get(i)).envelope.entry);
    return out;
  };
  const count = async (kind: string) => (await entries()).filter((e) => e.kind === kind).length;
  const patchSpec = (spec: Record<string, unknown>) =>
    custom.patchNamespacedCustomObject(
      {
        group: "modelchain.io",
        version: "v1alpha1",
        namespace: "ml",
        plural: "modeldeployments",
        name: NAME,
        body: { spec },
      },
      merge,
    );
  const readMd = async () =>
    (await custom.getNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modeldeployments",
      name: NAME,
    })) as ModelDeployment;
  const admitted = async () => (await readMd()).status?.conditions?.find((c) => c.type === "Admitted");
  const readService = async (): Promise<V1Service | undefined> => {
    try {
      return await core.readNamespacedService({ namespace: "ml", name: NAME });
    } catch (e: unknown) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
  const mdReconciles = async () =>
    (await reconciles.get()).values
      .filter((v) => v.labels["controller"] === "modeldeployment")
      .reduce((n, v) => n + v.value, 0);
  const completeRollouts = async (want: number) =>
    waitFor(
      `${want} RolloutCompleted`,
      async () => {
        await markPodsReady(core, "ml", SELECTOR);
        return (await count("RolloutCompleted")) >= want;
      },
      60_000,
    );

  beforeAll(async () => {
    env = await startOperatorEnv("serving-envtest", { controlPlane: { controllerManager: true } });
    ({ cp, ledger, dir } = env);
    objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"])
      for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
    // As the NVIDIA GPU operator installs it: the API server refuses Pods naming a missing RuntimeClass.
    await cp.kubeConfig
      .makeApiClient(NodeV1Api)
      .createRuntimeClass({ body: { metadata: { name: "nvidia" }, handler: "nvidia" } });
    await core.createNamespacedSecret({
      namespace: "ml",
      body: { metadata: { name: "hf-token" }, stringData: { token: SECRET } },
    });
    await objects.create(sample as unknown as KubernetesObject);
  }, 120_000);

  afterAll(async () => env?.stop());

  it("creates the owned Deployment carrying every serving field of the sample", async () => {
    await waitFor("RolloutStarted", async () => (await count("RolloutStarted")) === 1, 60_000);
    const pod = (await apps.readNamespacedDeployment({ namespace: "ml", name: NAME })).spec?.template.spec;
    const want = sample.spec.podTemplate ?? {};
    expect(pod?.tolerations).toEqual(want.tolerations);
    expect(pod?.affinity).toEqual(want.affinity);
    expect(pod?.topologySpreadConstraints).toEqual(want.topologySpreadConstraints);
    expect(pod?.runtimeClassName).toBe("nvidia");
    expect(pod?.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true" });
    expect(pod?.securityContext).toMatchObject(want.securityContext ?? {});
    expect(pod?.volumes?.map((v) => v.name)).toEqual(["dshm", "cache", "model"]);
    expect(pod?.volumes?.[0]?.emptyDir).toEqual({ medium: "Memory", sizeLimit: "16Gi" });
    const server = pod?.containers[0];
    const serving = sample.spec.serving ?? {};
    expect(server?.resources).toEqual({
      requests: { cpu: "4", memory: "32Gi", "nvidia.com/gpu": "1" },
      limits: { memory: "48Gi", "nvidia.com/gpu": "1" },
    });
    expect(server?.env?.find((e) => e.name === "HF_TOKEN")?.valueFrom).toEqual({
      secretKeyRef: { name: "hf-token", key: "token" },
    });
    expect(server?.env?.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.name",
    );
    expect(server?.env?.find((e) => e.name === "MODEL_PATH")?.value).toBe("/models");
    expect(server?.volumeMounts).toEqual([
      { name: "dshm", mountPath: "/dev/shm" },
      { name: "cache", mountPath: "/cache" },
      { name: "model", mountPath: "/models", readOnly: true },
    ]);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"] as const)
      expect(server?.[probe], probe).toMatchObject(serving[probe] ?? {});
    expect(server?.securityContext).toEqual(serving.securityContext);
    expect(server?.ports).toMatchObject([{ name: "http", containerPort: 8000 }]);
  }, 120_000);

  it("creates the Service owned by the ModelDeployment, and puts it back when edited or deleted", async () => {
    await waitFor("owned Service", async () => (await readService()) !== undefined, 30_000);
    const uid = (await readMd()).metadata.uid;
    const service = await readService();
    expect(service?.metadata?.ownerReferences).toEqual([
      expect.objectContaining({ kind: "ModelDeployment", name: NAME, uid, controller: true }),
    ]);
    expect(service?.spec?.selector).toEqual({ "modelchain.io/model-deployment": NAME });
    expect(service?.spec?.type).toBe("ClusterIP");
    expect(service?.spec?.ports).toMatchObject([{ name: "http", port: 80, targetPort: "http" }]);
    await core.patchNamespacedService(
      {
        namespace: "ml",
        name: NAME,
        body: { spec: { ports: [{ name: "http", port: 9999, targetPort: 9999 }] } },
      },
      merge,
    );
    await waitFor(
      "edited Service put back",
      async () => (await readService())?.spec?.ports?.[0]?.port === 80,
      30_000,
    );
    await core.deleteNamespacedService({ namespace: "ml", name: NAME });
    await waitFor(
      "deleted Service put back",
      async () => {
        const back = await readService();
        return back !== undefined && back.metadata?.uid !== service?.metadata?.uid;
      },
      30_000,
    );
  }, 120_000);

  it("once rolled out stays quiet: no appends, no writes to the Deployment or Service, no reconcile storm", async () => {
    await completeRollouts(1);
    await new Promise((r) => setTimeout(r, 1000));
    const before = {
      size: await ledger.size(),
      deployment: (await apps.readNamespacedDeployment({ namespace: "ml", name: NAME })).metadata
        ?.resourceVersion,
      service: (await readService())?.metadata?.resourceVersion,
      reconciles: await mdReconciles(),
    };
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(await ledger.size(), "entries appended while quiet").toBe(before.size);
    const deployment = await apps.readNamespacedDeployment({ namespace: "ml", name: NAME });
    expect(deployment.metadata?.resourceVersion, "Deployment written while quiet").toBe(before.deployment);
    expect((await readService())?.metadata?.resourceVersion, "Service written while quiet").toBe(
      before.service,
    );
    // A periodic resync may look again; a storm is tens a second.
    expect((await mdReconciles()) - before.reconciles, `reconciles in ${QUIET_MS} ms`).toBeLessThanOrEqual(2);
  }, 120_000);

  it("records one ConfigChanged whose diff names the toleration that changed", async () => {
    const changes = await count("ConfigChanged");
    const tolerations = [
      ...(sample.spec.podTemplate?.tolerations ?? []),
      { key: "dedicated", operator: "Equal", value: "inference", effect: "NoSchedule" },
    ];
    await patchSpec({ podTemplate: { ...sample.spec.podTemplate, tolerations } });
    await waitFor("ConfigChanged", async () => (await count("ConfigChanged")) === changes + 1, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const changed = (await entries()).filter((e) => e.kind === "ConfigChanged");
    expect(changed).toHaveLength(changes + 1);
    const diff = changed.at(-1)?.data["diff"] as Array<{ op: string; path: string }>;
    expect(diff).toEqual([{ op: "add", path: "/podTemplate/tolerations/1", value: tolerations[1] }]);
    const pod = (await apps.readNamespacedDeployment({ namespace: "ml", name: NAME })).spec?.template.spec;
    expect(pod?.tolerations).toEqual(tolerations);
    await completeRollouts(2);
  }, 120_000);

  it("never lets the Secret's value reach the ledger: only the reference is recorded", async () => {
    const files = filesUnder(dir);
    expect(files.length).toBeGreaterThan(0);
    // The files are searchable as they are: the reference's name is in them, in clear.
    expect(files.some(({ bytes }) => bytes.includes("hf-token"))).toBe(true);
    for (const { file, bytes } of files) expect(bytes.includes(SECRET), file).toBe(false);
    const started = (await entries()).filter((e) => e.kind === "RolloutStarted").at(-1);
    const env = (started?.data["config"] as { env?: Record<string, unknown> }).env;
    expect(env?.["HF_TOKEN"]).toEqual({ valueFrom: { secretKeyRef: { name: "hf-token", key: "token" } } });
  }, 120_000);

  it("refuses a pod template the API server would refuse, naming the field, and records nothing", async () => {
    const size = await ledger.size();
    const good = (await readMd()).spec.podTemplate?.tolerations;
    await patchSpec({ podTemplate: { tolerations: [{ key: "x", operator: "Exists", value: "v" }] } });
    await waitFor(
      "InvalidPodTemplate",
      async () => (await admitted())?.reason === "InvalidPodTemplate",
      30_000,
    );
    expect((await admitted())?.message).toContain("spec.podTemplate.tolerations[0]");
    expect(await ledger.size()).toBe(size);
    const pod = (await apps.readNamespacedDeployment({ namespace: "ml", name: NAME })).spec?.template.spec;
    expect(pod?.tolerations).toEqual(good);
    await patchSpec({ podTemplate: { tolerations: good } });
    await waitFor("admitted again", async () => (await admitted())?.status === "True", 30_000);
    expect(await ledger.size(), "back to the recorded template: no new rollout").toBe(size);
  }, 120_000);

  it("refuses at apply time a volume named like the artifact's, naming the field", async () => {
    const refused = await patchSpec({
      podTemplate: { volumes: [{ name: "model", emptyDir: {} }] },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ApiException);
    expect(String((refused as ApiException<unknown>).body)).toMatch(/spec\.podTemplate\.volumes.*operator's/);
  }, 120_000);

  it("deletes the Service when spec.service is removed, and garbage-collects it with the ModelDeployment", async () => {
    await patchSpec({ service: null });
    await waitFor("Service deleted", async () => (await readService()) === undefined, 30_000);
    await patchSpec({ service: { port: 8080 } });
    await waitFor("Service back", async () => (await readService())?.spec?.ports?.[0]?.port === 8080, 30_000);
    await custom.deleteNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modeldeployments",
      name: NAME,
    });
    await waitFor("Service garbage-collected", async () => (await readService()) === undefined, 60_000);
    expect(await count("ModelDeploymentDeleted")).toBe(1);
  }, 120_000);
});
