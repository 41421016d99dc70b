// A child's signature binds each parent's spec digest: over the real HTTPS server, replacing the
// sample base model by another trusted-signed ModelVersion of the same name (as an informer
// would deliver it) fails the child, and a child signed without parent digests fails closed.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { specDigest, type ModelVersion } from "../../src/api/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { reviewText, SAMPLES, send, startSamplesService, type SamplesService } from "./samples-service.ts";
import { hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook parent-binding tests: the openssl CLI is not installed (needed for test certificates)",
  );

const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));
const sample = (file: string, kind: string) =>
  readManifestFile(join(SAMPLES, file)).find((m) => m.object["kind"] === kind)?.object ?? {};
const base = sample("base-model.yaml", "ModelVersion") as unknown as ModelVersion;
const child = sample("fine-tuned.yaml", "ModelVersion") as unknown as ModelVersion;
const md = sample("deployment.yaml", "ModelDeployment");

function deploymentOf(modelVersion: string): string {
  const spec = typeof md["spec"] === "object" ? md["spec"] : {};
  const object = {
    ...md,
    metadata: { name: `serve-${modelVersion}`, namespace: "ml" },
    spec: { ...spec, modelVersion },
  };
  return reviewText({ kind: "ModelDeployment", name: `serve-${modelVersion}`, object });
}

describe.skipIf(noOpenssl)("parents bound by spec digest, over HTTPS", () => {
  let service: SamplesService;
  let port = 0;
  beforeAll(async () => {
    service = await startSamplesService();
    port = service.server.port;
  });
  afterAll(async () => service?.close());

  it("denies a child signed without its parents' spec digests, saying how to fix it", async () => {
    const legacy: ModelVersion = structuredClone(child);
    legacy.metadata = { name: "legacy-child", namespace: "ml" };
    legacy.spec.parents = (legacy.spec.parents ?? []).map((p) => ({ name: p.name }));
    legacy.spec.signatures = [signSpec(legacy.spec, demoKey)];
    expect(service.cache.putModelVersion(legacy)).toBeUndefined();
    const a = await send(port, deploymentOf("legacy-child"));
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain("parentsVerified failed");
    expect(a.message).toContain("spec.parents[0].specDigest is missing");
  });

  it("denies the child once its parent is replaced by another trusted-signed ModelVersion of the same name", async () => {
    expect((await send(port, deploymentOf(child.metadata.name))).allowed).toBe(true);
    const impostor: ModelVersion = structuredClone(base);
    impostor.spec.artifact = { ...impostor.spec.artifact, digest: `sha256:${"e".repeat(64)}` };
    impostor.spec.signatures = [signSpec(impostor.spec, demoKey)];
    try {
      expect(service.cache.putModelVersion(impostor)).toBeUndefined();
      const a = await send(port, deploymentOf(child.metadata.name));
      expect(a.allowed, a.text).toBe(false);
      expect(a.message).toContain(
        `parent ml/mistral-7b-base's spec digest is ${specDigest(impostor.spec)}, the child was signed over ${specDigest(base.spec)}`,
      );
    } finally {
      service.cache.putModelVersion(base);
    }
    expect((await send(port, deploymentOf(child.metadata.name))).allowed).toBe(true);
  });
});
