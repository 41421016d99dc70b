// Revocation through a real kube-apiserver with modelchain's webhook registered and the operator
// running: revoking records ModelVersionRevoked before RevokedModelInUse and keeps the model's
// signature; removing spec.revoked by JSON patch is denied, and with the webhook removed the
// operator keeps the model revoked and appends nothing; `modelchain reinstate` (a child process)
// lifts it, recorded with the signer; an artifact digest listed in the trust policy revokes the
// ModelVersions carrying it in two namespaces.
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import pino from "pino";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelTrustPolicy, ModelVersion } from "../../src/api/index.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";
import { FileLedger, type Ledger, type LedgerEntry } from "../../src/ledger/index.ts";
import { keyIdOf, signSpec } from "../../src/lineage/index.ts";
import {
  startWebhookService,
  validatingWebhookConfiguration,
  type WebhookService,
} from "../../src/webhook/index.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import { SAMPLES, sampleObjects } from "../api/samples.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { markPodsReady } from "./pods.ts";
import { freePort, waitFor } from "./processes.ts";
import { servingCertificate } from "./webhook-tls.ts";

const skip = skipWithoutAssets("revocation through the API server, webhook and operator");
const log = pino({ level: "silent" });
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const MV = { group: "modelchain.io", version: "v1alpha1", plural: "modelversions" };
const POISONED = `sha256:${"9e".repeat(32)}`;
const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));

type Condition = { type: string; status: string; reason?: string; message?: string };
type Status = { conditions?: Condition[]; revocation?: { ledgerIndex: number; reason: string } };
const condition = (s: Status, type: string) => s.conditions?.find((c) => c.type === type);

/** A signed ModelVersion like the base model but for its artifact, which carries `digest`. */
function poisoned(name: string, namespace: string): ModelVersion {
  const mv = structuredClone(sampleObjects("base-model.yaml")[0] as unknown as ModelVersion);
  mv.metadata = { name, namespace };
  mv.spec.version = `9.${name.length}.0`;
  mv.spec.artifact = { ...mv.spec.artifact, digest: POISONED };
  mv.spec.signatures = [signSpec(mv.spec, demoKey)];
  return mv;
}

/** The text of the API server's refusal, or "" when the call went through. */
async function attempt(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "";
  } catch (e: unknown) {
    const body = typeof e === "object" && e !== null && "body" in e ? String(e.body) : "";
    return `${e instanceof Error ? e.message : String(e)} ${body}`;
  }
}

describe.skipIf(skip)("revocation as a recorded fact, through a real API server", () => {
  let cp: ControlPlane;
  let ledger: Ledger;
  let operator: Operator;
  let webhook: WebhookService<ModelVersion, CompiledPolicy> | undefined;
  let custom: CustomObjectsApi;
  let admission: AdmissionregistrationV1Api;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  const state = tempDir("modelchain-revocation-envtest-");
  const tls = servingCertificate();
  const reinstater = generateKeyPairSync("ed25519");
  const reinstaterPem = join(state.dir, "reinstater.pem");
  let port = 0;

  async function entries(): Promise<LedgerEntry[]> {
    const size = await ledger.size();
    const out: LedgerEntry[] = [];
    for (let i = 0; i < size; i++) out.push((await ledger.get(i)).envelope.entry);
    return out;
  }
  const indexOf = async (kind: string, name: string) =>
    (await entries()).findIndex((e) => e.kind === kind && e.subject.name === name);
  const mvStatus = async (name: string, namespace = "ml") =>
    ((await custom.getNamespacedCustomObject({ ...MV, namespace, name })) as { status?: Status }).status ??
    {};
  const mdStatus = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({
        ...MV,
        plural: "modeldeployments",
        namespace: "ml",
        name,
      })) as { status?: Status }
    ).status ?? {};
  const removeRevoked = () =>
    attempt(() =>
      custom.patchNamespacedCustomObject(
        { ...MV, namespace: "ml", name: "mistral-7b-base", body: [{ op: "remove", path: "/spec/revoked" }] },
        jsonPatch,
      ),
    );

  async function registerWebhook(): Promise<void> {
    const body = validatingWebhookConfiguration({
      url: `https://127.0.0.1:${port}/validate`,
      caBundle: Buffer.from(tls.caPem).toString("base64"),
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    await admission.createValidatingWebhookConfiguration({ body });
    // Configurations take effect asynchronously: wait until a deployment of a missing model is
    // denied (a tag would not do: the CRD itself refuses it before any webhook is asked).
    let probe = 0;
    const sample = sampleObjects("deployment.yaml").find((o) => o["kind"] === "ModelDeployment") ?? {};
    const md = { ...sample, spec: { ...(sample["spec"] as object), modelVersion: "no-such-model" } };
    await waitFor(
      "webhook in effect",
      async () =>
        (
          await attempt(() =>
            custom.createNamespacedCustomObject({
              ...MV,
              plural: "modeldeployments",
              namespace: "ml",
              body: { ...md, metadata: { name: `probe-${probe++}`, namespace: "ml" } },
            }),
          )
        ).includes("modelVersionExists failed"),
      30_000,
    );
  }

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: true });
    const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    writeFileSync(reinstaterPem, reinstater.privateKey.export({ type: "pkcs8", format: "pem" }), {
      mode: 0o600,
    });
    const policy = structuredClone(sampleObjects("trust-policy.yaml")[0] as unknown as ModelTrustPolicy);
    policy.spec.namespaceSelector = {
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["ml", "team-b"] }],
    };
    policy.spec.revocation = {
      scaleToZero: true,
      reinstatementKeys: [
        {
          keyId: keyIdOf(reinstater.publicKey),
          publicKey: reinstater.publicKey.export({ type: "spki", format: "pem" }).toString(),
        },
      ],
    };
    await core.createNamespace({ body: { metadata: { name: "ml" } } });
    await core.createNamespace({ body: { metadata: { name: "team-b" } } });
    await objects.create(policy as unknown as KubernetesObject);
    for (const file of ["base-model.yaml", "fine-tuned.yaml"])
      for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
    for (const mv of [poisoned("poisoned-a", "ml"), poisoned("poisoned-b", "team-b")])
      await objects.create(mv as unknown as KubernetesObject);
    ledger = await FileLedger.open(state.dir, { warn: () => {} });
    operator = await startOperator({
      kubeConfig: cp.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "envtest",
      log,
      progressPollMs: 300,
      ledgerFollowMs: 300,
    });
    await operator.synced;
    port = await freePort();
    webhook = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "kube" },
      kubeConfig: cp.kubeConfig,
      ledger,
      ledgerRefreshMs: 300,
      cluster: "envtest",
      certFile: tls.certFile,
      keyFile: tls.keyFile,
      port,
      host: "127.0.0.1",
      log: quiet,
    });
    await registerWebhook();
    for (const o of sampleObjects("deployment.yaml")) await objects.create(o as KubernetesObject);
    await waitFor(
      "support-chat available",
      async () => {
        await markPodsReady(core, "ml", "modelchain.io/model-deployment=support-chat");
        return condition(await mdStatus("support-chat"), "Available")?.status === "True";
      },
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await admission.deleteValidatingWebhookConfiguration({ name: "modelchain" }).catch(() => undefined);
    await webhook?.close();
    await operator?.stop();
    await ledger?.close();
    await cp?.stop();
  });

  it("revokes without breaking the signature: ModelVersionRevoked first, then RevokedModelInUse; scaled to zero, conditions from what is observed", async () => {
    const registrations = (await entries()).filter((e) => e.kind === "ModelVersionRegistered").length;
    await custom.patchNamespacedCustomObject(
      {
        ...MV,
        namespace: "ml",
        name: "mistral-7b-base",
        body: { spec: { revoked: { reason: "weights leaked" } } },
      },
      merge,
    );
    await waitFor(
      "RevokedModelInUse",
      async () => (await indexOf("RevokedModelInUse", "support-chat")) >= 0,
      30_000,
    );
    const revokedAt = await indexOf("ModelVersionRevoked", "mistral-7b-base");
    expect(revokedAt).toBeGreaterThanOrEqual(0);
    expect(revokedAt).toBeLessThan(await indexOf("RevokedModelInUse", "support-chat"));
    // The same spec digest: no second registration, and the signature still verifies.
    expect((await entries()).filter((e) => e.kind === "ModelVersionRegistered")).toHaveLength(registrations);
    const verified = condition(await mvStatus("mistral-7b-base"), "Verified");
    expect(verified).toMatchObject({ status: "False" });
    expect(verified?.message).toContain("is revoked");
    expect(verified?.message).not.toContain("signature");
    await waitFor(
      "scaled to zero, Available=False",
      async () =>
        (await apps.readNamespacedDeployment({ namespace: "ml", name: "support-chat" })).spec?.replicas ===
          0 && condition(await mdStatus("support-chat"), "Available")?.status === "False",
      30_000,
    );
    const md = await mdStatus("support-chat");
    expect(condition(md, "Admitted")).toMatchObject({ status: "False", reason: "ModelRevoked" });
    expect(condition(md, "Available")).toMatchObject({ reason: "ScaledToZero" });
    expect(condition(md, "Drifted")).toMatchObject({ status: "False" });
    expect((await mvStatus("mistral-7b-base")).revocation).toEqual({
      ledgerIndex: revokedAt,
      reason: "weights leaked",
    });
  });

  it("denies removing spec.revoked by JSON patch, saying how to reinstate", async () => {
    // The webhook reads the ledger every ledgerRefreshMs; until it has read the revocation it
    // still denies, saying the revocation is not in the ledger yet.
    let answer = "";
    await waitFor(
      "the webhook has read the revocation",
      async () => {
        answer = await removeRevoked();
        return !answer.includes("its revocation is not in the ledger yet");
      },
      30_000,
    );
    expect(answer).toContain("denied the request");
    expect(answer).toContain("removing spec.revoked does not reinstate ml/mistral-7b-base");
    expect(answer).toContain("modelchain reinstate");
  });

  it("keeps it revoked with the webhook removed: nothing appended, conditions stay revoked", async () => {
    await admission.deleteValidatingWebhookConfiguration({ name: "modelchain" });
    await waitFor(
      "the patch admitted without the webhook",
      async () => (await removeRevoked()) === "",
      30_000,
    );
    const before = (await entries()).length;
    const revokedAt = await indexOf("ModelVersionRevoked", "mistral-7b-base");
    // Several resyncs' worth of reconciles of the ModelVersion and its deployment.
    await new Promise((r) => setTimeout(r, 4000));
    expect((await entries()).slice(before).map((e) => e.kind)).toEqual([]);
    const mv = await mvStatus("mistral-7b-base");
    expect(condition(mv, "Verified")?.status).toBe("False");
    expect(condition(mv, "Verified")?.message).toContain(`(ledger entry ${revokedAt})`);
    expect(mv.revocation?.ledgerIndex).toBe(revokedAt);
    expect(condition(await mdStatus("support-chat"), "Admitted")).toMatchObject({
      status: "False",
      reason: "ModelRevoked",
    });
    expect(
      (await apps.readNamespacedDeployment({ namespace: "ml", name: "support-chat" })).spec?.replicas,
    ).toBe(0);
    await registerWebhook();
  }, 90_000);

  it("reinstates with a signed act (modelchain reinstate), recorded with its signer", async () => {
    const revokedAt = await indexOf("ModelVersionRevoked", "mistral-7b-base");
    const current = await custom.getNamespacedCustomObject({
      ...MV,
      namespace: "ml",
      name: "mistral-7b-base",
    });
    const file = join(state.dir, "base.yaml");
    writeFileSync(file, JSON.stringify(current));
    const out = join(state.dir, "base-reinstated.yaml");
    const run = await runCliAsync([
      "reinstate",
      "-f",
      file,
      "--key",
      reinstaterPem,
      "--revocation",
      String(revokedAt),
      "--reason",
      "leak was a false alarm",
      "-o",
      out,
    ]);
    expect(run.stderr).toContain("apply the manifest to reinstate");
    expect(run.status).toBe(0);
    const body = parse(readFileSync(out, "utf8")) as ModelVersion;
    expect(body.spec.revoked).toBeUndefined();
    expect(
      await attempt(() =>
        custom.replaceNamespacedCustomObject({ ...MV, namespace: "ml", name: "mistral-7b-base", body }),
      ),
    ).toBe("");
    await waitFor(
      "ModelVersionReinstated",
      async () => (await indexOf("ModelVersionReinstated", "mistral-7b-base")) >= 0,
      30_000,
    );
    const entry = (await entries()).find((e) => e.kind === "ModelVersionReinstated");
    expect(entry?.data).toMatchObject({
      revocationIndex: revokedAt,
      signedBy: keyIdOf(reinstater.publicKey),
      policy: "ml-models",
      reason: "leak was a false alarm",
    });
    await waitFor(
      "Verified=True and the deployment admitted again",
      async () =>
        condition(await mvStatus("mistral-7b-base"), "Verified")?.status === "True" &&
        condition(await mdStatus("support-chat"), "Admitted")?.status === "True",
      30_000,
    );
  }, 60_000);

  it("revokes by artifact digest every ModelVersion carrying it, in both namespaces", async () => {
    await custom.patchClusterCustomObject(
      {
        group: "modelchain.io",
        version: "v1alpha1",
        plural: "modeltrustpolicies",
        name: "ml-models",
        body: {
          spec: { revocation: { artifacts: [{ digest: POISONED, reason: "weights file poisoned" }] } },
        },
      },
      merge,
    );
    const revokedIn = async (namespace: string) =>
      (await entries()).find(
        (e) =>
          e.kind === "ModelVersionRevoked" &&
          e.subject.namespace === namespace &&
          e.data["artifactDigest"] === POISONED,
      );
    await waitFor(
      "both revoked",
      async () => (await revokedIn("ml")) !== undefined && (await revokedIn("team-b")) !== undefined,
      30_000,
    );
    const all = await entries();
    const artifact = all.findIndex((e) => e.kind === "ArtifactRevoked");
    expect(all[artifact]?.data).toEqual({
      digest: POISONED,
      reason: "weights file poisoned",
      policy: "ml-models",
    });
    expect(all.filter((e) => e.kind === "ArtifactRevoked")).toHaveLength(1);
    for (const [ns, name] of [
      ["ml", "poisoned-a"],
      ["team-b", "poisoned-b"],
    ] as const) {
      // The status follows the entry: the reconcile patches it after the append is acknowledged.
      await waitFor(
        `${ns}/${name} status names the artifact revocation`,
        async () =>
          condition(await mvStatus(name, ns), "Verified")?.message?.includes(
            `artifact ${POISONED} revoked`,
          ) === true,
        30_000,
      );
      expect((await mvStatus(name, ns)).revocation).toMatchObject({ ledgerIndex: artifact });
    }
    // The webhook judges by the same fact: a deployment of either is denied.
    let tries = 0;
    await waitFor(
      "deployment of poisoned-b denied",
      async () =>
        (
          await attempt(() =>
            custom.createNamespacedCustomObject({
              ...MV,
              plural: "modeldeployments",
              namespace: "team-b",
              body: {
                apiVersion: "modelchain.io/v1alpha1",
                kind: "ModelDeployment",
                metadata: { name: `on-poisoned-${tries++}`, namespace: "team-b" },
                spec: { modelVersion: "poisoned-b", image: `registry.example.com/serving/vllm@${POISONED}` },
              },
            }),
          )
        ).includes("notRevoked failed"),
      30_000,
    );
  }, 60_000);
});
