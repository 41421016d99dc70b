import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { installCrds } from "../../src/controller/index.ts";
import { startDevCluster } from "../../src/devcluster/index.ts";
import { VerifiedCache } from "../../src/webhook/cache.ts";
import { admissionDecision } from "../../src/webhook/decision.ts";
import { createReviewer } from "../../src/webhook/reviewer.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { startKubeSource, type KubeSource } from "../../src/webhook/source-kube.ts";
import { modelchainVocabulary } from "../../src/webhook/vocabulary.ts";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver.ts";
import { request } from "./fixtures.ts";
import { sampleObjects } from "../api/samples.ts";
import { startFlakyProxy } from "../kube/flaky-proxy.ts";

const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const MVS = "/apis/modelchain.io/v1alpha1/modelversions";

function sample(
  file: string,
  kind: string,
): { metadata: { name: string; namespace?: string } } & Record<string, unknown> {
  const found = readManifestFile(join(SAMPLES, file)).find((m) => m.object["kind"] === kind)?.object;
  const metadata = found?.["metadata"];
  if (
    found === undefined ||
    typeof metadata !== "object" ||
    metadata === null ||
    !("name" in metadata) ||
    typeof metadata.name !== "string"
  )
    throw new Error(`no ${kind} in ${file}`);
  return { ...found, metadata: { ...metadata, name: metadata.name } };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
};

describe("kube source (informers against a fake API server)", () => {
  let api: FakeApiServer;
  let source: KubeSource;
  const cache = new VerifiedCache(modelchainVocabulary);
  const base = sample("base-model.yaml", "ModelVersion");
  const child = sample("fine-tuned.yaml", "ModelVersion");
  const md = sample("deployment.yaml", "ModelDeployment");
  const errors: Error[] = [];

  beforeAll(async () => {
    api = await startFakeApiServer({
      [MVS]: [base],
      "/apis/modelchain.io/v1alpha1/modeltrustpolicies": [sample("trust-policy.yaml", "ModelTrustPolicy")],
      "/api/v1/namespaces": [{ metadata: { name: "ml", labels: { "kubernetes.io/metadata.name": "ml" } } }],
    });
    source = await startKubeSource({ kubeConfig: api.kubeConfig, cache, onError: (e) => errors.push(e) });
  });
  afterAll(async () => {
    await source?.stop();
    await api?.close();
  });

  it("is synced after the initial lists, and denies a deployment whose ModelVersion it has not seen", () => {
    expect(cache.synced()).toBe(true);
    expect(admissionDecision(request("ModelDeployment", md), cache.state())).toMatchObject({
      allowed: false,
      reason: "model-version-missing",
    });
  });

  it("admits once the watch delivers the ModelVersion, and denies again after it is deleted", async () => {
    api.emit(MVS, "ADDED", child);
    await until(() => cache.hasModelVersion("ml", "mistral-7b-support-v2"));
    expect(admissionDecision(request("ModelDeployment", md), cache.state())).toMatchObject({
      allowed: true,
      reason: "verified",
    });
    api.emit(MVS, "DELETED", child);
    await until(() => !cache.hasModelVersion("ml", "mistral-7b-support-v2"));
    expect(admissionDecision(request("ModelDeployment", md), cache.state()).allowed).toBe(false);
  });

  it("a revoked parent arriving by watch makes the child's deployment denied", async () => {
    api.emit(MVS, "ADDED", child);
    const revokedBase = {
      ...base,
      spec: { ...(base["spec"] as object), revoked: { reason: "licence withdrawn" } },
    };
    api.emit(MVS, "MODIFIED", revokedBase);
    await until(
      () => admissionDecision(request("ModelDeployment", md), cache.state()).reason === "revoked-ancestor",
    );
    expect(admissionDecision(request("ModelDeployment", md), cache.state())).toMatchObject({
      allowed: false,
      reason: "revoked-ancestor",
    });
    api.emit(MVS, "MODIFIED", base);
  });

  it("looks a missing ModelVersion up with a GET, and a 404 means missing", async () => {
    const review = createReviewer({ cache, lookup: source.lookup });
    const absent = { ...md, spec: { ...(md["spec"] as object), modelVersion: "nowhere" } };
    expect(await review(request("ModelDeployment", absent))).toMatchObject({
      allowed: false,
      reason: "model-version-missing",
    });
    expect(api.gets).toContain("/apis/modelchain.io/v1alpha1/namespaces/ml/modelversions/nowhere");
    expect(errors).toEqual([]);
  });
});

describe("kube source against an API server whose first lists fail", () => {
  it("is marked synced only once every informer has listed, reporting each failed list", async () => {
    const cluster = await startDevCluster();
    const proxy = await startFlakyProxy(cluster.url);
    try {
      await installCrds(cluster.kubeConfig);
      const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
      for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml"])
        for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
      proxy.failNext("list", MVS, 2, 500);
      const cache = new VerifiedCache(modelchainVocabulary);
      const errors: Error[] = [];
      const source = await startKubeSource({
        kubeConfig: proxy.kubeConfig,
        cache,
        onError: (e) => errors.push(e),
        backoff: { baseMs: 10, maxMs: 40 },
      });
      await source.stop();
      expect(cache.synced()).toBe(true);
      expect(cache.hasModelVersion("ml", "mistral-7b-base")).toBe(true);
      expect(errors.map((e) => e.message)).toEqual([
        expect.stringMatching(/^informer for modelversions failed: .*500/),
        expect.stringMatching(/^informer for modelversions failed: .*500/),
      ]);
    } finally {
      await proxy.close();
      await cluster.stop();
    }
  });
});
