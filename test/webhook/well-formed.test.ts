// What is not well-formed is refused, over the real HTTPS server and the samples: a body that is
// not UTF-8, image references outside the OCI reference grammar, and numbers in a signed spec
// whose JSON text a JavaScript parser reads as another value.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../src/api/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
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

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook well-formedness tests: the openssl CLI is not installed (needed for test certificates)",
  );

const HEX = "5d7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e";
const GOOD_MV = "mistral-7b-support-v2";
const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));

/** The sample base model with an artifact size of 2^53, signed by the trusted demo key. */
function bigModelVersion(): ModelVersion {
  const base = readManifestFile(join(SAMPLES, "base-model.yaml"))[0]?.object as unknown as ModelVersion;
  const mv: ModelVersion = structuredClone(base);
  mv.metadata = { name: "big-model", namespace: "ml" };
  mv.spec.artifact.sizeBytes = 2 ** 53;
  mv.spec.signatures = [signSpec(mv.spec, demoKey)];
  return mv;
}

describe.skipIf(noOpenssl)("well-formed input over HTTPS", () => {
  let service: SamplesService;
  let port = 0;
  beforeAll(async () => {
    service = await startSamplesService();
    port = service.server.port;
  });
  afterAll(async () => service?.close());

  it("refuses a body that is not valid UTF-8 with 400 naming the problem", async () => {
    const marked = labelledDeployment(
      "serve",
      `registry.example.com/serving/vllmMARK@sha256:${HEX}`,
      GOOD_MV,
    );
    const [before, after] = reviewText({ kind: "Deployment", object: marked }).split("MARK");
    const body = Buffer.concat([Buffer.from(before ?? ""), Buffer.from([0xff]), Buffer.from(after ?? "")]);
    const a = await send(port, body);
    expect(a.status, a.text).toBe(400);
    expect(a.text).toContain("not valid UTF-8");
  });

  it("judges image references by the OCI reference grammar: malformed ones are not pinned", async () => {
    const malformed = [
      `registry.example.com/Serving/vllm@sha256:${HEX}`, // upper-case repository path
      `registry.example.com/serving/vllm\ud800@sha256:${HEX}`, // lone surrogate
      `registry.example.com/serving/vllm\ufffd@sha256:${HEX}`, // replacement character
      `registry.example.com/serving/\u0007vllm@sha256:${HEX}`, // control character
      `registry.example.com//vllm@sha256:${HEX}`, // empty path component
      `registry.example.com/serving/vllm:a:b@sha256:${HEX}`, // two tags
    ];
    const wellFormed = [
      `registry.example.com:5000/serving/vllm@sha256:${HEX}`,
      `registry.example.com/serving/vllm:0.6.3@sha256:${HEX}`,
      `vllm@sha256:${HEX}`,
    ];
    const judge = (image: string) =>
      send(port, reviewText({ kind: "Deployment", object: labelledDeployment("d", image, GOOD_MV) }));
    for (const image of malformed) {
      const a = await judge(image);
      expect(a.allowed, `${JSON.stringify(image)}: ${a.text}`).toBe(false);
      expect(a.message).toContain("imagePinned failed");
    }
    for (const image of wellFormed) expect((await judge(image)).allowed, image).toBe(true);
  });

  it("denies a signed ModelVersion whose integer changes under JSON number parsing, naming the field", async () => {
    const text = reviewText({ kind: "ModelVersion", name: "big-model", object: bigModelVersion() });
    expect(text).toContain("9007199254740992");
    // The signature is over 2^53; the API server would persist 2^53 + 1.
    const a = await send(port, text.replace("9007199254740992", "9007199254740993"));
    expect(a.allowed, a.text).toBe(false);
    expect(a.message).toContain("spec.artifact.sizeBytes");
  });
});
