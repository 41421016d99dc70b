// Admission end to end through a real kube-apiserver: a ValidatingWebhookConfiguration whose
// caBundle trusts modelchain's HTTPS webhook on loopback (fed by informers, --source kube).
// Unverifiable ModelDeployments are denied with modelchain's message, a verified one is
// admitted, and with the webhook down failurePolicy Fail denies while Ignore admits.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AdmissionregistrationV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { createPrivateKey } from "node:crypto";
import type { ModelVersion } from "../../src/api/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  readManifestFile,
  startWebhookService,
  validatingWebhookConfiguration,
  type FailurePolicy,
  type WebhookService,
} from "../../src/webhook/index.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { freePort, waitFor } from "./processes.ts";
import { servingCertificate } from "./webhook-tls.ts";

const skip = skipWithoutAssets("webhook admission");
const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const GROUP = { group: "modelchain.io", version: "v1alpha1" };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));

function objectsOf(file: string, kind: string): Array<Record<string, unknown>> {
  return readManifestFile(join(SAMPLES, file))
    .filter((m) => m.object["kind"] === kind)
    .map((m) => m.object);
}

function nameOf(o: Record<string, unknown>): string {
  const metadata = o["metadata"];
  return typeof metadata === "object" &&
    metadata !== null &&
    "name" in metadata &&
    typeof metadata.name === "string"
    ? metadata.name
    : "";
}

/** The API server's answer to a create, as text: "" when admitted, else the error body. */
async function attempt(create: () => Promise<unknown>): Promise<string> {
  try {
    await create();
    return "";
  } catch (e: unknown) {
    const body = typeof e === "object" && e !== null && "body" in e ? String(e.body) : "";
    return `${e instanceof Error ? e.message : String(e)} ${body}`;
  }
}

describe.skipIf(skip)("webhook admission through a real API server", () => {
  let cp: ControlPlane;
  let service: WebhookService<ModelVersion, CompiledPolicy> | undefined;
  let custom: CustomObjectsApi;
  let admission: AdmissionregistrationV1Api;
  let port = 0;
  let tls: ReturnType<typeof servingCertificate>;

  const createDeployment = (md: Record<string, unknown>, suffix = "") =>
    attempt(() =>
      custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: "ml",
        plural: "modeldeployments",
        body: { ...md, metadata: { name: `${nameOf(md)}${suffix}`, namespace: "ml" } },
      }),
    );

  async function configure(failurePolicy: FailurePolicy): Promise<void> {
    const body = validatingWebhookConfiguration({
      url: `https://127.0.0.1:${port}/validate`,
      caBundle: Buffer.from(tls.caPem).toString("base64"),
      failurePolicy,
      timeoutSeconds: 5,
    });
    await admission.deleteValidatingWebhookConfiguration({ name: "modelchain" }).catch(() => undefined);
    await admission.createValidatingWebhookConfiguration({ body });
  }

  async function startWebhook(): Promise<void> {
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
  }

  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "ml" } } });
    // Everything the decisions need exists before admission is switched on.
    await custom.createClusterCustomObject({
      ...GROUP,
      plural: "modeltrustpolicies",
      body: objectsOf("trust-policy.yaml", "ModelTrustPolicy")[0] ?? {},
    });
    for (const file of [
      "base-model.yaml",
      "fine-tuned.yaml",
      "bad/unsigned.yaml",
      "bad/tampered.yaml",
      "bad/revoked-ancestor.yaml",
    ]) {
      for (const mv of objectsOf(file, "ModelVersion"))
        await custom.createNamespacedCustomObject({
          ...GROUP,
          namespace: "ml",
          plural: "modelversions",
          body: mv,
        });
    }
    tls = servingCertificate();
    port = await freePort();
    await startWebhook();
    await configure("Fail");
    // The API server picks up webhook configurations asynchronously: wait until one denial arrives.
    const probe = objectsOf("bad/unsigned.yaml", "ModelDeployment")[0] ?? {};
    let attempt = 0; // a probe admitted before the configuration took effect must not block the next one
    await waitFor(
      "webhook configuration in effect",
      async () => (await createDeployment(probe, `-probe-${attempt++}`)).includes("modelchain"),
      30_000,
    );
  }, 180_000);

  afterAll(async () => {
    await service?.close();
    await cp?.stop();
  });

  const denied = [
    { file: "bad/unsigned.yaml", says: "signature failed" },
    { file: "bad/tampered.yaml", says: "signature failed" },
    { file: "bad/revoked-ancestor.yaml", says: "ancestorsNotRevoked failed" },
  ];
  for (const d of denied) {
    it(`denies the ModelDeployment of ${d.file} with modelchain's message`, async () => {
      const md = objectsOf(d.file, "ModelDeployment")[0] ?? {};
      const answer = await createDeployment(md);
      expect(answer).toContain("denied the request");
      expect(answer).toContain(d.says);
    });
  }

  it("refuses the ModelDeployment of bad/unpinned-image.yaml by the CRD schema, before the webhook is asked", async () => {
    const answer = await createDeployment(objectsOf("bad/unpinned-image.yaml", "ModelDeployment")[0] ?? {});
    expect(answer).toMatch(/spec\.image: Invalid value: .*must be pinned by digest/);
    expect(answer).not.toContain("denied the request");
  });

  it("admits the verified sample ModelDeployment", async () => {
    expect(await createDeployment(objectsOf("deployment.yaml", "ModelDeployment")[0] ?? {})).toBe("");
  });

  it("gates Deployments labelled with a ModelVersion, and only those", async () => {
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const deployment = (name: string, image: string, modelVersion?: string) => ({
      metadata: {
        name,
        namespace: "ml",
        labels: { app: name, ...(modelVersion ? { "modelchain.io/model-version": modelVersion } : {}) },
      },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "serve", image }] } },
      },
    });
    const pinned = objectsOf("deployment.yaml", "ModelDeployment")[0]?.["spec"];
    const image =
      typeof pinned === "object" && pinned !== null && "image" in pinned && typeof pinned.image === "string"
        ? pinned.image
        : "";
    const create = (d: ReturnType<typeof deployment>) =>
      attempt(() => apps.createNamespacedDeployment({ namespace: "ml", body: d }));
    expect(await create(deployment("labelled-unsigned", image, "support-unsigned"))).toContain(
      "signature failed",
    );
    expect(await create(deployment("labelled-tag", "nginx:1.27", "mistral-7b-support-v2"))).toContain(
      "imagePinned failed",
    );
    expect(await create(deployment("labelled-good", image, "mistral-7b-support-v2"))).toBe("");
    expect(await create(deployment("unlabelled-tag", "nginx:1.27"))).toBe("");
  });

  it("denies an UPDATE that removes the model-version label while switching to a tag (the old object matched)", async () => {
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const current = await apps.readNamespacedDeployment({ name: "labelled-good", namespace: "ml" });
    const labels = { ...(current.metadata?.labels ?? {}) };
    delete labels["modelchain.io/model-version"];
    const containers = (current.spec?.template.spec?.containers ?? []).map((c) => ({
      ...c,
      image: "nginx:1.27",
    }));
    const body = structuredClone(current);
    body.metadata = { ...body.metadata, labels };
    if (body.spec?.template.spec !== undefined) body.spec.template.spec.containers = containers;
    const answer = await attempt(() =>
      apps.replaceNamespacedDeployment({ name: "labelled-good", namespace: "ml", body }),
    );
    expect(answer).toContain("imagePinned failed");
    expect(answer).toMatch(
      /label modelchain.io\/model-version \(was \\?"mistral-7b-support-v2\\?"\) removed/,
    );
  });

  it("denies deployments of a child once its parent is replaced by another trusted-signed ModelVersion", async () => {
    const current: unknown = await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace: "ml",
      plural: "modelversions",
      name: "mistral-7b-base",
    });
    const original = objectsOf("base-model.yaml", "ModelVersion")[0] as unknown as ModelVersion;
    const impostor: ModelVersion = { ...(current as ModelVersion), spec: structuredClone(original.spec) };
    impostor.spec.artifact.digest = `sha256:${"e".repeat(64)}`;
    impostor.spec.signatures = [signSpec(impostor.spec, demoKey)];
    const replace = (body: ModelVersion) =>
      attempt(() =>
        custom.replaceNamespacedCustomObject({
          ...GROUP,
          namespace: "ml",
          plural: "modelversions",
          name: "mistral-7b-base",
          body,
        }),
      );
    expect(await replace(impostor)).toBe(""); // its own signature verifies: the impostor is admitted
    const good = objectsOf("deployment.yaml", "ModelDeployment")[0] ?? {};
    let tries = 0;
    let answer = "";
    await waitFor(
      "the impostor seen by the webhook's informer",
      async () => (answer = await createDeployment(good, `-impostor-${tries++}`)) !== "",
      30_000,
    );
    expect(answer).toContain("parentsVerified failed");
    expect(answer).toContain("the child was signed over");
    const latest = (await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace: "ml",
      plural: "modelversions",
      name: "mistral-7b-base",
    })) as ModelVersion;
    expect(await replace({ ...latest, spec: original.spec })).toBe("");
    await waitFor(
      "the original parent seen again",
      async () => (await createDeployment(good, `-restored-${tries++}`)) === "",
      30_000,
    );
  });

  it("the API server refuses a ModelVersion whose artifact size is beyond 2^53", async () => {
    const mv = objectsOf("base-model.yaml", "ModelVersion")[0] as unknown as ModelVersion;
    const big = { ...mv, metadata: { name: "too-big", namespace: "ml" } };
    big.spec = { ...mv.spec, artifact: { ...mv.spec.artifact, sizeBytes: 2 ** 53 } };
    const answer = await attempt(() =>
      custom.createNamespacedCustomObject({ ...GROUP, namespace: "ml", plural: "modelversions", body: big }),
    );
    expect(answer).toContain("spec.artifact.sizeBytes");
  });

  it("denies creating an unsigned ModelVersion", async () => {
    const mv = objectsOf("bad/unsigned.yaml", "ModelVersion")[0] ?? {};
    const answer = await attempt(() =>
      custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: "ml",
        plural: "modelversions",
        body: { ...mv, metadata: { name: "unsigned-again", namespace: "ml" } },
      }),
    );
    expect(answer).toContain("signature failed");
  });

  it("lets a ModelVersion be revoked without re-signing, after which its deployments are denied", async () => {
    const current: unknown = await custom.getNamespacedCustomObject({
      ...GROUP,
      namespace: "ml",
      plural: "modelversions",
      name: "mistral-7b-base",
    });
    if (
      typeof current !== "object" ||
      current === null ||
      !("spec" in current) ||
      typeof current.spec !== "object"
    )
      throw new Error("mistral-7b-base has no spec");
    const revoked = { ...current, spec: { ...current.spec, revoked: { reason: "licence withdrawn" } } };
    expect(
      await attempt(() =>
        custom.replaceNamespacedCustomObject({
          ...GROUP,
          namespace: "ml",
          plural: "modelversions",
          name: "mistral-7b-base",
          body: revoked,
        }),
      ),
    ).toBe("");
    const good = objectsOf("deployment.yaml", "ModelDeployment")[0] ?? {};
    let tries = 0;
    let answer = "";
    await waitFor(
      "revocation seen by the webhook's informer",
      async () => (answer = await createDeployment(good, `-after-revoke-${tries++}`)) !== "",
      30_000,
    );
    expect(answer).toContain("ancestorsNotRevoked failed");
  });

  it("with the webhook down, failurePolicy Fail denies and Ignore admits", async () => {
    await service?.close();
    service = undefined;
    const good = objectsOf("deployment.yaml", "ModelDeployment")[0] ?? {};
    expect(await createDeployment(good, "-down")).toContain("failed calling webhook");
    await configure("Ignore");
    let tries = 0;
    await waitFor(
      "Ignore in effect",
      async () => (await createDeployment(good, `-ignored-${tries++}`)) === "",
      30_000,
    );
    expect(
      await attempt(() =>
        custom.getNamespacedCustomObject({
          ...GROUP,
          namespace: "ml",
          plural: "modeldeployments",
          name: `${nameOf(good)}-ignored-${tries - 1}`,
        }),
      ),
    ).toBe("");
  }, 60_000);
});
