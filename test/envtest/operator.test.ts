import { createPublicKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import pino from "pino";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { skipWithoutAssets } from "./assets.ts";
import { waitFor } from "./processes.ts";
import { markPodsReady as podsReady } from "./pods.ts";
import { sampleObjects } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import {
  auditFileLedger,
  auditLedger,
  FileLedger,
  logVerifier,
  originOf,
  toHex,
  type Ledger,
} from "../../src/ledger/index.ts";
import { readIdentity } from "../../src/ledger/file/identity.ts";
import { CANISTER_ID, hostedCanister, skipHosted, skipReason, type Hosted } from "../ichost/hosted.ts";
import { serveGateway } from "../ichost/serve.ts";
import { checkBom, inventory, type SignedHeadTrust } from "../cli/bom-checks.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";
import { historyItems, objectHistory } from "../../src/cli/history/chain.ts";
import { historyText } from "../../src/cli/history/render.ts";

const skip = skipWithoutAssets("operator against kube-apiserver + kube-controller-manager");
const log = pino({ level: "silent" });
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

if (skipHosted) console.log(`SKIP operator on a real control plane with the ic ledger: ${skipReason}`);

/** The ledger as `modelchain bom --ledger` names it, with what checks its signed head. */
interface LedgerUrl {
  url: string;
  trust: SignedHeadTrust;
  close(): Promise<void>;
}

function fileLedgerUrl(dir: string): LedgerUrl {
  const identity = readIdentity(dir);
  const logKey =
    identity === undefined
      ? undefined
      : logVerifier(originOf(identity.keyId), createPublicKey(identity.publicKey));
  return { url: dir, trust: logKey === undefined ? {} : { logKey }, close: async () => {} };
}

let hosted: Hosted | undefined;

/** The hosted canister behind a real HTTP port, for the CLI in a child process. */
async function icLedgerUrl(): Promise<LedgerUrl> {
  if (hosted === undefined) throw new Error("the canister is not hosted");
  const server = await serveGateway(hosted.gateway);
  return {
    url: `ic://${CANISTER_ID}?host=${encodeURIComponent(server.url)}&rootKey=${toHex(hosted.key.der)}`,
    trust: { icRootKey: hosted.key.der },
    close: () => server.close(),
  };
}

// The same suite with each ledger backend: the file ledger, and the ic backend talking to the
// compiled canister on the IC host through @dfinity/agent.
const backends: Array<{
  name: string;
  skip: boolean;
  open: (dir: string) => Promise<Ledger>;
  url: (dir: string) => Promise<LedgerUrl>;
}> = [
  {
    name: "file ledger",
    skip: false,
    open: (dir) => FileLedger.open(dir, { warn: () => {} }),
    url: async (dir) => fileLedgerUrl(dir),
  },
  {
    name: "ic ledger (hosted canister)",
    skip: skipHosted,
    open: async () => {
      hosted = await hostedCanister();
      return hosted.ledger();
    },
    url: () => icLedgerUrl(),
  },
];

describe.skipIf(skip).each(backends)(
  "the operator against a real control plane, with the $name",
  (backend) => {
    if (backend.skip) return;
    let cp: ControlPlane;
    let ledger: Ledger;
    let operator: Operator;
    const state = tempDir("modelchain-operator-envtest-");
    let objects: KubernetesObjectApi;
    let custom: CustomObjectsApi;
    let core: CoreV1Api;
    let apps: AppsV1Api;

    async function kinds(): Promise<string[]> {
      const size = await ledger.size();
      const out: string[] = [];
      for (let i = 0; i < size; i++) out.push((await ledger.get(i)).envelope.entry.kind);
      return out;
    }
    const count = async (kind: string) => (await kinds()).filter((k) => k === kind).length;
    const mdStatus = async (name: string) =>
      (
        (await custom.getNamespacedCustomObject({
          group: "modelchain.io",
          version: "v1alpha1",
          namespace: "ml",
          plural: "modeldeployments",
          name,
        })) as {
          status?: {
            conditions?: Array<{ type: string; status: string; message: string }>;
            rollouts?: unknown[];
          };
        }
      ).status ?? {};
    const condition = (
      status: { conditions?: Array<{ type: string; status: string; message?: string }> },
      type: string,
    ) => status.conditions?.find((c) => c.type === type);

    const markPodsReady = (selector: string): Promise<number> => podsReady(core, "ml", selector);

    async function apply(file: string): Promise<void> {
      for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
    }

    beforeAll(async () => {
      cp = await startControlPlane({ controllerManager: true });
      objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
      custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
      core = cp.kubeConfig.makeApiClient(CoreV1Api);
      apps = cp.kubeConfig.makeApiClient(AppsV1Api);
      ledger = await backend.open(state.dir);
      operator = await startOperator({
        kubeConfig: cp.kubeConfig,
        ledger: borrowedLedger(ledger),
        cluster: "envtest",
        log,
        progressPollMs: 300,
      });
      await operator.synced;
      for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"])
        await apply(file);
    });

    afterAll(async () => {
      await operator?.stop();
      await ledger?.close();
      await cp?.stop();
      state.remove();
    });

    it("verifies and registers every sample ModelVersion once, with the ledger reference in status", async () => {
      await waitFor(
        "ModelVersion status",
        async () => {
          const mv = (await custom.getNamespacedCustomObject({
            group: "modelchain.io",
            version: "v1alpha1",
            namespace: "ml",
            plural: "modelversions",
            name: "mistral-7b-support-v2",
          })) as {
            status?: { conditions?: Array<{ type: string; status: string }>; ledger?: { index: number } };
          };
          return condition(mv.status ?? {}, "Verified")?.status === "True" && mv.status?.ledger !== undefined;
        },
        30_000,
      );
      expect(await count("ModelVersionRegistered")).toBe(2);
    });

    it("creates the owned Deployment by server-side apply with an owner reference, and records the rollout start", async () => {
      await apply("deployment.yaml");
      await waitFor(
        "owned Deployment",
        async () =>
          (await apps.readNamespacedDeployment({ namespace: "ml", name: "support-chat" })).metadata !==
          undefined,
        30_000,
      );
      const deployment = await apps.readNamespacedDeployment({ namespace: "ml", name: "support-chat" });
      expect(deployment.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: "ModelDeployment",
        name: "support-chat",
        controller: true,
      });
      expect(
        deployment.metadata?.managedFields?.some(
          (f) => f.manager === "modelchain-operator" && f.operation === "Apply",
        ),
      ).toBe(true);
      expect(deployment.metadata?.annotations?.["modelchain.io/spec-digest"]).toMatch(/^sha256:/);
      await waitFor("RolloutStarted", async () => (await count("RolloutStarted")) === 1, 30_000);
    });

    it("records the rollout completed once the Pods are ready (marked ready as a kubelet would)", async () => {
      await waitFor(
        "pods created by kube-controller-manager",
        async () => (await markPodsReady("modelchain.io/model-deployment=support-chat")) >= 2,
        60_000,
      );
      await waitFor(
        "RolloutCompleted",
        async () => {
          await markPodsReady("modelchain.io/model-deployment=support-chat");
          return (await count("RolloutCompleted")) === 1;
        },
        60_000,
      );
      await waitFor(
        "Available condition",
        async () => condition(await mdStatus("support-chat"), "Available")?.status === "True",
        30_000,
      );
    });

    it("records an image change and a config change exactly once each", async () => {
      const image = "registry.example.com/serving/vllm@sha256:" + "e".repeat(64);
      await custom.patchNamespacedCustomObject(
        {
          group: "modelchain.io",
          version: "v1alpha1",
          namespace: "ml",
          plural: "modeldeployments",
          name: "support-chat",
          body: { spec: { image } },
        },
        merge,
      );
      await waitFor("ImageDigestChanged", async () => (await count("ImageDigestChanged")) === 1, 30_000);
      await custom.patchNamespacedCustomObject(
        {
          group: "modelchain.io",
          version: "v1alpha1",
          namespace: "ml",
          plural: "modeldeployments",
          name: "support-chat",
          body: { spec: { serving: { args: ["--max-model-len", "4096"] } } },
        },
        merge,
      );
      await waitFor("ConfigChanged", async () => (await count("ConfigChanged")) === 1, 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await count("ImageDigestChanged")).toBe(1);
      expect(await count("ConfigChanged")).toBe(1);
      expect(await count("RolloutStarted")).toBe(3);
    });

    it("shows the deployment's whole chain in modelchain history, every proof verified", async () => {
      const history = await objectHistory(ledger, {
        kind: "ModelDeployment",
        namespace: "ml",
        name: "support-chat",
      });
      expect(history.groups).toHaveLength(1);
      const [group] = history.groups;
      expect(group?.datasets.map((d) => d.name).sort()).toEqual([
        "safety-refusals-v3",
        "support-tickets-2025q3",
        "web-corpus-2025",
      ]);
      expect(group?.modelVersions.map((m) => m.subject)).toEqual([
        "ModelVersion ml/mistral-7b-base",
        "ModelVersion ml/mistral-7b-support-v2",
      ]);
      expect(group?.imageDigests).toHaveLength(2);
      // ArtifactVerified once, after revision 1 started: the oci:// model is an image volume,
      // verified by the kubelet when revision 1's Pods started (the later revisions' Pods are never
      // marked started here). It and RolloutCompleted are seen in the same Pod update, in either order.
      const kinds = group?.events.map((e) => e.kind) ?? [];
      expect(kinds.filter((k) => k === "ArtifactVerified")).toHaveLength(1);
      expect(kinds.indexOf("ArtifactVerified")).toBeGreaterThan(kinds.indexOf("RolloutStarted"));
      expect(kinds.filter((k) => k !== "ArtifactVerified")).toEqual([
        "RolloutStarted",
        "RolloutCompleted",
        "RolloutStarted",
        "ImageDigestChanged",
        "RolloutStarted",
        "ConfigChanged",
      ]);
      expect(group?.events.every((e) => e.subject === "ModelDeployment ml/support-chat")).toBe(true);
      expect(historyItems(history).every((i) => i.proofVerified)).toBe(true);
      expect(historyText(history)).toMatch(
        /model versions:\n {2}\[\d+\] ModelVersionRegistered ml\/mistral-7b-base: mistral-7b 1\.0\.0/,
      );
    });

    it("exports the deployment's history as a schema-valid CycloneDX ML-BOM, every component proven (modelchain bom)", async () => {
      const ledgerUrl = await backend.url(state.dir);
      try {
        const run = await runCliAsync(["bom", "ml/support-chat", "--ledger", ledgerUrl.url]);
        expect(run.status, run.stderr).toBe(0);
        const { bom, signed } = await checkBom(run.stdout, ledger, ledgerUrl.trust);
        const images = [
          "5d7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e",
          "e".repeat(64),
        ].map((hex) => `registry.example.com/serving/vllm@sha256:${hex}`);
        expect(inventory(bom)).toEqual({
          images,
          models: ["ModelVersion/ml/mistral-7b-base", "ModelVersion/ml/mistral-7b-support-v2"],
          datasets: [
            "dataset/safety-refusals-v3",
            "dataset/support-tickets-2025q3",
            "dataset/web-corpus-2025",
          ],
          deploymentDependsOn: ["ModelVersion/ml/mistral-7b-support-v2", ...images],
        });
        if (backend.name.startsWith("ic")) expect(signed?.via).toBe("certificate");
      } finally {
        await ledgerUrl.close();
      }
    });

    it("flags a Pod running another digest than the admitted one as drift, once", async () => {
      const pods = await core.listNamespacedPod({
        namespace: "ml",
        labelSelector: "modelchain.io/model-deployment=support-chat",
      });
      const pod = pods.items.find((p) => p.spec?.containers[0]?.image?.includes("e".repeat(64)));
      expect(pod).toBeDefined();
      const other = "registry.example.com/serving/vllm@sha256:" + "d".repeat(64);
      await core.patchNamespacedPodStatus(
        {
          namespace: "ml",
          name: pod?.metadata?.name ?? "",
          body: {
            status: {
              containerStatuses: [
                {
                  name: "server",
                  image: other,
                  imageID: other,
                  ready: true,
                  started: true,
                  restartCount: 0,
                  state: { running: { startedAt: new Date() } },
                },
              ],
            },
          },
        },
        merge,
      );
      await waitFor(
        "Drifted condition",
        async () => condition(await mdStatus("support-chat"), "Drifted")?.status === "True",
        30_000,
      );
      expect(condition(await mdStatus("support-chat"), "Drifted")?.message).toContain("d".repeat(64));
      await new Promise((r) => setTimeout(r, 1000));
      expect(await count("DriftDetected")).toBe(1);
    });

    it("records rollouts, image changes and drift of a labelled Deployment it does not own", async () => {
      const image = "registry.example.com/serving/tgi@sha256:" + "1".repeat(64);
      const labels = { app: "legacy-chat", "modelchain.io/model-version": "mistral-7b-support-v2" };
      await apps.createNamespacedDeployment({
        namespace: "ml",
        body: {
          metadata: { name: "legacy-chat", labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "legacy-chat" } },
            template: { metadata: { labels }, spec: { containers: [{ name: "tgi", image }] } },
          },
        },
      });
      const deploymentEntries = async () => {
        const out: string[] = [];
        for (let i = 0; i < (await ledger.size()); i++) {
          const e = (await ledger.get(i)).envelope.entry;
          if (e.subject.kind === "Deployment" && e.subject.name === "legacy-chat") out.push(e.kind);
        }
        return out;
      };
      await waitFor(
        "labelled rollout started",
        async () => (await deploymentEntries()).includes("RolloutStarted"),
        30_000,
      );
      await waitFor(
        "labelled rollout completed",
        async () => {
          await markPodsReady("app=legacy-chat");
          return (await deploymentEntries()).includes("RolloutCompleted");
        },
        60_000,
      );
      await apps.patchNamespacedDeployment(
        {
          namespace: "ml",
          name: "legacy-chat",
          body: {
            spec: {
              template: {
                spec: { containers: [{ name: "tgi", image: image.replace("1".repeat(64), "2".repeat(64)) }] },
              },
            },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      );
      await waitFor(
        "labelled image change",
        async () => (await deploymentEntries()).includes("ImageDigestChanged"),
        30_000,
      );
      const annotation = (await apps.readNamespacedDeployment({ namespace: "ml", name: "legacy-chat" }))
        .metadata?.annotations?.["modelchain.io/last-recorded"];
      expect(JSON.parse(annotation ?? "{}")).toMatchObject({
        v: 2,
        rollouts: [{ revision: 1 }, { revision: 2 }],
      });
      expect((await deploymentEntries()).filter((k) => k === "RolloutStarted")).toHaveLength(2);
    });

    it("propagates a revoked ancestor to the deployment: condition, entry, and scale to zero when the policy asks", async () => {
      await custom.patchClusterCustomObject(
        {
          group: "modelchain.io",
          version: "v1alpha1",
          plural: "modeltrustpolicies",
          name: "ml-models",
          body: { spec: { revocation: { scaleToZero: true } } },
        },
        merge,
      );
      await custom.patchNamespacedCustomObject(
        {
          group: "modelchain.io",
          version: "v1alpha1",
          namespace: "ml",
          plural: "modelversions",
          name: "mistral-7b-base",
          body: { spec: { revoked: { reason: "licence withdrawn (incident ML-500)" } } },
        },
        merge,
      );
      // Two controllers record these, in either order (the ModelVersion's and the deployment's).
      await waitFor("RevokedModelInUse", async () => (await count("RevokedModelInUse")) === 1, 30_000);
      await waitFor("ModelVersionRevoked", async () => (await count("ModelVersionRevoked")) === 1, 30_000);
      await waitFor(
        "Admitted=False",
        async () => condition(await mdStatus("support-chat"), "Admitted")?.status === "False",
        30_000,
      );
      expect(condition(await mdStatus("support-chat"), "Admitted")?.message).toMatch(
        /ancestor ml\/mistral-7b-base is revoked/,
      );
      await waitFor(
        "scaled to zero",
        async () =>
          (await apps.readNamespacedDeployment({ namespace: "ml", name: "support-chat" })).spec?.replicas ===
          0,
        30_000,
      );
    });

    it("does not deploy a ModelDeployment whose model is unverified, and says why", async () => {
      await apply("bad/unsigned.yaml");
      await waitFor(
        "Admitted=False",
        async () => condition(await mdStatus("chat-unsigned"), "Admitted")?.status === "False",
        30_000,
      );
      expect(condition(await mdStatus("chat-unsigned"), "Admitted")?.message).toMatch(/is not signed/);
      const created = await apps.readNamespacedDeployment({ namespace: "ml", name: "chat-unsigned" }).then(
        () => true,
        () => false,
      );
      expect(created).toBe(false);
    });

    it("records the deletion through its finalizer before the object goes", async () => {
      await custom.deleteNamespacedCustomObject({
        group: "modelchain.io",
        version: "v1alpha1",
        namespace: "ml",
        plural: "modeldeployments",
        name: "support-chat",
      });
      await waitFor(
        "ModelDeploymentDeleted",
        async () => (await count("ModelDeploymentDeleted")) === 1,
        30_000,
      );
      await waitFor(
        "object gone",
        () =>
          custom
            .getNamespacedCustomObject({
              group: "modelchain.io",
              version: "v1alpha1",
              namespace: "ml",
              plural: "modeldeployments",
              name: "support-chat",
            })
            .then(
              () => false,
              () => true,
            ),
        30_000,
      );
    });

    it("adds nothing when a new operator instance reconciles the same cluster again", async () => {
      const before = await ledger.size();
      const kindsBefore = await kinds();
      await operator.stop();
      operator = await startOperator({
        kubeConfig: cp.kubeConfig,
        ledger: borrowedLedger(ledger),
        cluster: "envtest",
        log,
        progressPollMs: 300,
      });
      await operator.synced;
      await new Promise((r) => setTimeout(r, 3000));
      expect((await kinds()).slice(before)).toEqual([]);
      expect(await kinds()).toEqual(kindsBefore);
      await operator.stop();
      if (ledger instanceof FileLedger) {
        await ledger.close();
        const audit = await auditFileLedger(state.dir);
        expect(audit).toMatchObject({ size: before });
        expect(audit.problem).toBeUndefined();
        ledger = await FileLedger.open(state.dir, { warn: () => {} });
      } else {
        const audit = await auditLedger(ledger);
        expect(audit).toMatchObject({ size: before });
        expect(audit.problem).toBeUndefined();
      }
    });
  },
);
