// Who did what, through a real kube-apiserver with the webhook registered and the operator
// running: two service accounts, each with its own token, change a ModelDeployment's env and
// a ConfigMap key. Each change is one ChangeAdmitted entry naming the right service account
// (as the API server authenticated it), whose diff names the key and records only digests; the
// operator's RolloutStarted/ConfigChanged join to it; a dry run records nothing.
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../src/api/index.ts";
import { objectHistory } from "../../src/cli/history/chain.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";
import { FileLedger, FileOutbox, type LedgerEntry } from "../../src/ledger/index.ts";
import {
  startWebhookService,
  validatingWebhookConfiguration,
  type WebhookService,
} from "../../src/webhook/index.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import { sampleObjects } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { freePort, waitFor } from "./processes.ts";
import { servingCertificate } from "./webhook-tls.ts";

const skip = skipWithoutAssets("actors and diffs through the webhook");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const GROUP = { group: "modelchain.io", version: "v1alpha1" };
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const sa = (name: string) => `system:serviceaccount:ml:${name}`;

/** A kubeconfig that authenticates as the service account ml/NAME with a token the API server issued. */
async function serviceAccountConfig(
  cp: ControlPlane,
  name: string,
): Promise<{ kc: KubeConfig; uid: string }> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const account = await core.createNamespacedServiceAccount({
    namespace: "ml",
    body: { metadata: { name } },
  });
  await cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
    body: {
      metadata: { name: `actors-${name}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name, namespace: "ml" }],
    },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace: "ml",
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "envtest", server: cp.apiServerUrl, caData: Buffer.from(cp.caPem).toString("base64") },
    ],
    users: [{ name, token: token.status?.token ?? "" }],
    contexts: [{ name, cluster: "envtest", user: name }],
    currentContext: name,
  });
  return { kc, uid: account.metadata?.uid ?? "" };
}

describe.skipIf(skip)("actors and diffs through a real API server", () => {
  let cp: ControlPlane;
  let service: WebhookService<ModelVersion, CompiledPolicy>;
  let operator: Operator | undefined;
  let ledger: FileLedger;
  let outbox: FileOutbox;
  const state = tempDir("modelchain-actors-envtest-");
  const users: Record<string, { kc: KubeConfig; uid: string }> = {};

  async function entries(): Promise<LedgerEntry[]> {
    await service.recorder?.settled();
    await outbox.flush();
    const out: LedgerEntry[] = [];
    for (let i = 0; i < (await ledger.size()); i++) out.push((await ledger.get(i)).envelope.entry);
    return out;
  }
  const changes = async (kind: string) =>
    (await entries()).filter((e) => e.kind === "ChangeAdmitted" && e.subject.kind === kind);

  const patchModelDeployment = (who: string, body: object, dryRun?: string) =>
    users[who]?.kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      {
        ...GROUP,
        namespace: "ml",
        plural: "modeldeployments",
        name: "support-chat",
        body,
        ...(dryRun ? { dryRun } : {}),
      },
      merge,
    );

  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: "ml" } } });
    for (const name of ["deployer", "tuner"]) users[name] = await serviceAccountConfig(cp, name);
    for (const file of ["trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"])
      for (const o of sampleObjects(file)) {
        const plural = o["kind"] === "ModelTrustPolicy" ? "modeltrustpolicies" : "modelversions";
        if (plural === "modeltrustpolicies")
          await custom.createClusterCustomObject({ ...GROUP, plural, body: o });
        else await custom.createNamespacedCustomObject({ ...GROUP, namespace: "ml", plural, body: o });
      }
    ledger = await FileLedger.open(join(state.dir, "ledger"), { warn: () => undefined });
    outbox = FileOutbox.open(join(state.dir, "outbox"));
    const tls = servingCertificate();
    const port = await freePort();
    service = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "kube" },
      kubeConfig: cp.kubeConfig,
      outbox,
      cluster: "envtest",
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      port,
      host: "127.0.0.1",
      log: quiet,
    });
    const body = validatingWebhookConfiguration({
      url: `https://127.0.0.1:${port}/validate`,
      caBundle: Buffer.from(tls.caPem).toString("base64"),
    });
    await cp.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .createValidatingWebhookConfiguration({ body });
    operator = await startOperator({
      kubeConfig: cp.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "envtest",
      log: pino({ level: "silent" }),
      outbox,
      progressPollMs: 200,
    });
    await operator.synced;
    // The API server takes webhook configurations in asynchronously: wait until a ConfigMap
    // write (recorded once a policy governs "ml") reaches the webhook.
    let probe = 0;
    await waitFor(
      "webhook configuration in effect",
      async () => {
        await core.createNamespacedConfigMap({
          namespace: "ml",
          body: { metadata: { name: `probe-${probe++}` } },
        });
        return (await changes("ConfigMap")).length > 0;
      },
      60_000,
    );
    const [md, configMap] = sampleObjects("deployment.yaml");
    await users["deployer"]?.kc
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: "ml", body: configMap as never });
    await users["deployer"]?.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...GROUP,
      namespace: "ml",
      plural: "modeldeployments",
      body: md ?? {},
    });
    await waitFor(
      "first rollout",
      async () => (await entries()).some((e) => e.kind === "RolloutStarted"),
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await service?.close();
    await outbox?.close();
    await ledger?.close();
    await cp?.stop();
    state.remove();
  });

  it("records the deployer's env change once, naming the variable, its value only as a digest, and the service account", async () => {
    const before = (await changes("ModelDeployment")).length;
    const env = [{ name: "VLLM_LOGGING_LEVEL", value: "DEBUG" }];
    await patchModelDeployment("deployer", { spec: { serving: { env } } });
    await waitFor(
      "env change recorded",
      async () => (await changes("ModelDeployment")).length > before,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const recorded = (await changes("ModelDeployment")).slice(before);
    expect(recorded, JSON.stringify(recorded, null, 1)).toHaveLength(1);
    expect(recorded[0]?.data).toMatchObject({
      operation: "UPDATE",
      generation: 2,
      actor: {
        username: sa("deployer"),
        uid: users["deployer"]?.uid,
        groups: expect.arrayContaining(["system:serviceaccounts", "system:serviceaccounts:ml"]),
        serviceAccount: { namespace: "ml", name: "deployer" },
      },
      diff: [{ op: "replace", path: "/spec/serving/env/VLLM_LOGGING_LEVEL/value", value: sha("DEBUG") }],
    });
    expect(JSON.stringify(await entries())).not.toMatch(/"DEBUG"|"INFO"/);
  }, 90_000);

  it("records the tuner's ConfigMap key change once as a per-key digest, and joins the operator's ConfigChanged to the tuner", async () => {
    const before = (await changes("ConfigMap")).length;
    const core = users["tuner"]?.kc.makeApiClient(CoreV1Api);
    const prompt = "You are a terse support assistant.\n";
    await core?.patchNamespacedConfigMap(
      { name: "support-chat-prompts", namespace: "ml", body: { data: { "system-prompt.txt": prompt } } },
      merge,
    );
    await waitFor(
      "ConfigChanged for the ConfigMap key",
      async () =>
        (await entries()).some(
          (e) => e.kind === "ConfigChanged" && JSON.stringify(e.data["diff"]).includes("system-prompt.txt"),
        ),
      60_000,
    );
    const recorded = (await changes("ConfigMap")).slice(before);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]?.data).toMatchObject({
      actor: { username: sa("tuner"), uid: users["tuner"]?.uid },
      diff: [{ op: "replace", path: "/data/system-prompt.txt", value: sha(prompt) }],
    });
    expect(JSON.stringify(await entries())).not.toContain("terse");
    const history = await objectHistory(ledger, {
      kind: "ModelDeployment",
      namespace: "ml",
      name: "support-chat",
    });
    const events = history.groups.flatMap((g) => g.events);
    const configChanges = events.filter((e) => e.kind === "ConfigChanged").map((e) => e.actor);
    // The env change (deployer, by generation) and the ConfigMap change (tuner, by ConfigMap).
    expect(configChanges).toEqual([
      `${sa("deployer")} (service account)`,
      `${sa("tuner")} (service account)`,
    ]);
    expect(
      events.find((e) => e.kind === "ConfigChanged" && e.actor?.startsWith(sa("tuner")))?.data["diff"],
    ).toEqual([
      { op: "replace", path: "/configMaps/support-chat-prompts/system-prompt.txt", value: sha(prompt) },
    ]);
  }, 120_000);

  it("records nothing for a dry run", async () => {
    const before = (await changes("ModelDeployment")).length;
    await patchModelDeployment("tuner", { spec: { replicas: 5 } }, "All");
    await new Promise((r) => setTimeout(r, 3000));
    const added = (await changes("ModelDeployment")).slice(before);
    expect(added, JSON.stringify(added, null, 1)).toEqual([]);
    expect(JSON.stringify(await entries())).not.toContain("/spec/replicas");
  }, 60_000);

  it("records the operator's own writes to the Deployment it owns, as the operator", async () => {
    const owned = await changes("Deployment");
    expect(owned.length).toBeGreaterThan(0);
    expect(new Set(owned.map((e) => (e.data["actor"] as { username: string }).username))).toEqual(
      new Set(["admin"]),
    );
  }, 30_000);

  it("shows, run against the cluster, only the current object's uid by default", async () => {
    await operator?.stop();
    operator = undefined;
    const run = await runCliAsync([
      "history",
      "ml/support-chat",
      "--ledger",
      join(state.dir, "ledger"),
      "--kubeconfig",
      cp.kubeconfigPath,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const h = JSON.parse(run.stdout) as { filters: { uid: string }; groups: Array<{ uid: string }> };
    const md = (await cp.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      ...GROUP,
      namespace: "ml",
      plural: "modeldeployments",
      name: "support-chat",
    })) as {
      metadata: { uid: string };
    };
    expect(h.filters.uid).toBe(md.metadata.uid);
    expect(h.groups.map((g) => g.uid)).toEqual([md.metadata.uid]);
  }, 120_000);
});
