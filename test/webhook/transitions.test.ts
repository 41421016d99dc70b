// Transitions out of the gate, over the real HTTPS server and the samples: an UPDATE is judged on
// the old object too, and a review is judged in the namespace the API server would persist it in.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import {
  labelledDeployment,
  reviewText,
  SAMPLES,
  send,
  startSamplesService,
  type SamplesService,
} from "./samples-service.ts";
import { hasOpenssl } from "./tls-fixture.ts";
import { join } from "node:path";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook transition tests: the openssl CLI is not installed (needed for test certificates)",
  );

const PINNED =
  "registry.example.com/serving/vllm@sha256:5d7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e";
const GOOD_MV = "mistral-7b-support-v2";
const goodModelDeployment = readManifestFile(join(SAMPLES, "deployment.yaml"))[0]?.object ?? {};

function withMetadata(
  object: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const metadata = typeof object["metadata"] === "object" ? object["metadata"] : {};
  return { ...object, metadata: { ...metadata, ...extra } };
}

describe.skipIf(noOpenssl)("admission of transitions over HTTPS", () => {
  let service: SamplesService;
  let port = 0;
  beforeAll(async () => {
    service = await startSamplesService();
    port = service.server.port;
  });
  afterAll(async () => service?.close());

  const update = (object: unknown, oldObject: unknown) =>
    send(port, reviewText({ kind: "Deployment", operation: "UPDATE", name: "serve", object, oldObject }));

  it("denies an UPDATE that removes the model-version label while switching to a tag", async () => {
    const old = labelledDeployment("serve", PINNED, GOOD_MV);
    const a = await update(labelledDeployment("serve", "nginx:1.27"), old);
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain("imagePinned failed");
    expect(a.message).toContain(`label modelchain.io/model-version (was "${GOOD_MV}") removed`);
    // Leaving the gate with a pinned image and a verified model is a legitimate opt-out.
    expect((await update(labelledDeployment("serve", PINNED), old)).allowed).toBe(true);
  });

  it("judges a removed label against the ModelVersion it named: a missing one is denied", async () => {
    const old = labelledDeployment("serve", PINNED, "support-unsigned-absent");
    const a = await update(labelledDeployment("serve", PINNED), old);
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain("modelVersionExists failed");
  });

  it("judges a spec change of a Deployment that is being deleted", async () => {
    const deleting = { deletionTimestamp: "2026-01-01T00:00:00Z", finalizers: ["example.com/hold"] };
    const old = withMetadata(labelledDeployment("serve", PINNED, GOOD_MV), deleting);
    const tagged = withMetadata(labelledDeployment("serve", "nginx:1.27", GOOD_MV), deleting);
    const a = await update(tagged, old);
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain("imagePinned failed");
    const released = withMetadata(labelledDeployment("serve", PINNED, GOOD_MV), {
      deletionTimestamp: deleting.deletionTimestamp,
    });
    expect((await update(released, old)).allowed).toBe(true);
  });

  it("denies a review whose namespace is empty for a namespaced object", async () => {
    const tagged = labelledDeployment("serve", "nginx:1.27", GOOD_MV);
    const a = await send(
      port,
      reviewText({ kind: "Deployment", namespace: "", name: "serve", object: tagged }),
    );
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain('request.namespace ""');
  });

  it("denies a review whose object names another namespace than the request", async () => {
    const md = withMetadata(goodModelDeployment, { namespace: "sandbox" });
    const a = await send(port, reviewText({ kind: "ModelDeployment", name: "support-chat", object: md }));
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain('metadata.namespace "sandbox" differs from request.namespace "ml"');
  });
});
