// OMS signatures through a real kube-apiserver: the CRDs' CEL rules accept OMS signature
// entries and trust roots, the webhook (--source kube) reads a bundle from a ConfigMap labelled
// modelchain.io/trust-material, admits a ModelDeployment of the OMS-signed ModelVersion, and
// denies one whose bundle was tampered with, naming why; the operator gives the owned Deployment's
// init container the bundle's verified per-file digests.
import { join } from "node:path";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelTrustPolicy, ModelVersion } from "../../src/api/index.ts";
import { modelFiles } from "../../src/artifact/walk.ts";
import { ARTIFACT_FILES_ANNOTATION } from "../../src/controller/artifact-pod.ts";
import { borrowedLedger, startOperator, type Operator } from "../../src/controller/index.ts";
import { kubeMaterialReader, prefetchMaterial } from "../../src/controller/material.ts";
import { FileLedger } from "../../src/ledger/index.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { lineagePolicy, verifyLineage } from "../../src/lineage/index.ts";
import {
  startWebhookService,
  validatingWebhookConfiguration,
  type WebhookService,
} from "../../src/webhook/index.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import { directoryDigest, ecKey, signWithKey, workDir, writeModel } from "../pytools/model-signing.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { freePort, waitFor } from "./processes.ts";
import { servingCertificate } from "./webhook-tls.ts";

const skip =
  skipWithoutAssets("OMS admission") || skipWithoutPythonTool("OMS admission", "signing", "model_signing");
const GROUP = { group: "modelchain.io", version: "v1alpha1" };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const IMAGE = `registry.example/serve@sha256:${"a".repeat(64)}`;

async function attempt(create: () => Promise<unknown>): Promise<string> {
  try {
    await create();
    return "";
  } catch (e: unknown) {
    const body = typeof e === "object" && e !== null && "body" in e ? String(e.body) : "";
    return `${e instanceof Error ? e.message : String(e)} ${body}`;
  }
}

/** The bundle with one byte of its DSSE payload's statement changed (a resource digest). */
function tamper(bundle: string): string {
  const b = JSON.parse(bundle) as { dsseEnvelope: { payload: string } };
  const text = Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8");
  const edited = text.replace(
    /"digest": "([0-9a-f])/,
    (_m, c: string) => `"digest": "${c === "0" ? "1" : "0"}`,
  );
  b.dsseEnvelope.payload = Buffer.from(edited).toString("base64");
  return JSON.stringify(b);
}

describe.skipIf(skip)("OMS-signed ModelVersions admitted through a real API server", () => {
  let cp: ControlPlane;
  let service: WebhookService<ModelVersion, CompiledPolicy> | undefined;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let policy: ModelTrustPolicy;
  let signed: ModelVersion;
  let model: string;
  let operator: Operator | undefined;
  let ledger: FileLedger | undefined;
  const state = tempDir("oms-operator-");

  const modelVersion = (name: string, digest: string, signature: Record<string, unknown>) => ({
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelVersion",
    metadata: { name, namespace: "ml" },
    spec: {
      model: name,
      version: "1",
      artifact: { uri: `s3://models/${name}`, digest },
      signatures: [signature],
    },
  });
  const deploy = (name: string, mv: string) =>
    attempt(() =>
      custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: "ml",
        plural: "modeldeployments",
        body: {
          apiVersion: "modelchain.io/v1alpha1",
          kind: "ModelDeployment",
          metadata: { name, namespace: "ml" },
          spec: { modelVersion: mv, image: IMAGE },
        },
      }),
    );

  beforeAll(async () => {
    const work = workDir("oms-envtest");
    model = join(work, "resnet");
    writeModel(model);
    const key = ecKey(work, "producer");
    const bundle = signWithKey(model, key);
    const digest = directoryDigest(model);

    cp = await startControlPlane({ crds: true });
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: "ml" } } });
    policy = {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelTrustPolicy",
      metadata: { name: "producers" },
      spec: { trustRoots: [{ name: "producer", publicKey: key.publicKeyPem }] },
    };
    await custom.createClusterCustomObject({ ...GROUP, plural: "modeltrustpolicies", body: policy });
    await core.createNamespacedConfigMap({
      namespace: "ml",
      body: {
        metadata: { name: "resnet-sig", namespace: "ml", labels: { "modelchain.io/trust-material": "true" } },
        data: { "model.sig": bundle },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: "ml",
      body: { metadata: { name: "resnet-sig-unlabelled", namespace: "ml" }, data: { "model.sig": bundle } },
    });
    const ref = { type: "oms", configMapKeyRef: { name: "resnet-sig", key: "model.sig" } };
    signed = modelVersion("resnet", digest, ref) as ModelVersion;
    for (const mv of [
      signed,
      modelVersion("resnet-tampered", digest, { type: "oms", bundle: tamper(bundle) }),
    ])
      await custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: "ml",
        plural: "modelversions",
        body: mv,
      });

    const tls = servingCertificate();
    const port = await freePort();
    service = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "kube" },
      kubeConfig: cp.kubeConfig,
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
      failurePolicy: "Fail",
      timeoutSeconds: 5,
    });
    await cp.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .createValidatingWebhookConfiguration({ body });
    let probe = 0;
    await waitFor(
      "webhook configuration in effect",
      async () => (await deploy(`probe-${probe++}`, "missing")).includes("modelchain"),
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await ledger?.close();
    await service?.close();
    await cp?.stop();
    state.remove();
  });

  it("refuses, at the API server, an OMS signature entry of the wrong shape (CEL)", async () => {
    const answer = await attempt(() =>
      custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: "ml",
        plural: "modelversions",
        body: modelVersion("bad-shape", `sha256:${"b".repeat(64)}`, {
          type: "oms",
          keyId: "k",
          signature: "c2ln",
        }),
      }),
    );
    expect(answer).toContain("an oms signature has exactly one of bundle, configMapKeyRef, secretKeyRef");
  });

  it("admits a ModelDeployment of the ModelVersion whose OMS bundle is in a labelled ConfigMap", async () => {
    expect(await deploy("resnet", "resnet")).toBe("");
  });

  it("denies the ModelDeployment of a ModelVersion with a tampered bundle, with the reason", async () => {
    const answer = await deploy("resnet-tampered", "resnet-tampered");
    expect(answer).toContain("denied the request");
    expect(answer).toContain("signature failed");
    expect(answer).toContain(
      "signature does not verify over the DSSE payload with trust root producer's key",
    );
  });

  it("gives the operator's verdict the labelled ConfigMap's bundle, and never an unlabelled one's", async () => {
    const read = kubeMaterialReader(cp.kubeConfig);
    expect(await read("ConfigMap", "ml", "resnet-sig-unlabelled")).toBeUndefined();
    expect(await read("Secret", "ml", "absent")).toBeUndefined();
    const material = await prefetchMaterial(read, signed, [policy], () => undefined);
    const verdict = verifyLineage(signed, () => undefined, lineagePolicy(policy.spec), undefined, undefined, {
      material,
    });
    expect(verdict.checks.find((c) => c.name === "signature")?.reason).toContain(
      "signed by trust root producer",
    );
    const unlabelled: ModelVersion = structuredClone(signed);
    unlabelled.spec.signatures = [
      { type: "oms", configMapKeyRef: { name: "resnet-sig-unlabelled", key: "model.sig" } },
    ];
    const none = await prefetchMaterial(read, unlabelled, [policy], () => undefined);
    const refused = verifyLineage(
      unlabelled,
      () => undefined,
      lineagePolicy(policy.spec),
      undefined,
      undefined,
      {
        material: none,
      },
    );
    expect(refused.checks.find((c) => c.name === "signature")?.reason).toContain("is not known");
  });

  it("has the operator hand the bundle's verified per-file digests to the init container", async () => {
    ledger = await FileLedger.open(state.dir);
    operator = await startOperator({
      kubeConfig: cp.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "envtest",
      log: pino({ level: "silent" }),
      artifactImage: `registry.example/modelchain@sha256:${"f".repeat(64)}`,
    });
    await operator.synced;
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    let annotation: string | undefined;
    await waitFor(
      "the owned Deployment of resnet",
      async () => {
        const d = await apps.readNamespacedDeployment({ name: "resnet", namespace: "ml" });
        annotation = d.spec?.template.metadata?.annotations?.[ARTIFACT_FILES_ANNOTATION];
        return annotation !== undefined;
      },
      30_000,
    );
    expect(JSON.parse(annotation ?? "null")).toEqual({ files: await modelFiles(model) });
    const d = await apps.readNamespacedDeployment({ name: "resnet", namespace: "ml" });
    const args = d.spec?.template.spec?.initContainers?.[0]?.args ?? [];
    expect(args.slice(0, 2)).toEqual(["artifact", "fetch"]);
    expect(args[args.indexOf("--manifest") + 1]).toBe("/artifact-files/files.json");
  });
});
