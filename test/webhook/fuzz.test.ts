// At least 10,000 generated malformed AdmissionReviews against the real HTTPS server; every
// one is answered with a 4xx reason or a well-formed review, and the server keeps serving.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionDecision } from "../../src/webhook/decision.ts";
import { startWebhookServer, type WebhookServer } from "../../src/webhook/server.ts";
import { join } from "node:path";
import { loadDirCache } from "../../src/webhook/service.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { modelchainVocabulary } from "../../src/webhook/vocabulary.ts";
import { modelDeployment } from "./fixtures.ts";
import { agent, post, type Reply } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log("skipping webhook fuzz test: the openssl CLI is not installed (needed for test certificates)");

const RUNS = 10_000;
// The real state: the samples' chain and trust policy, judged by the api and lineage components.
const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
const sampleObjects = [
  ...readManifestFile(join(SAMPLES, "fine-tuned.yaml")),
  ...readManifestFile(join(SAMPLES, "deployment.yaml")),
].map((m) => m.object);

/** Mostly a plausible value, sometimes arbitrary JSON: malformed in one place at a time. */
function mostly<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue() });
}

const gvk = fc.constantFrom(
  { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
  { group: "modelchain.io", version: "v1alpha1", kind: "ModelVersion" },
  { group: "apps", version: "v1", kind: "Deployment" },
  { group: "", version: "v1", kind: "Pod" },
);
const object = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(...sampleObjects),
  fc.constant(modelDeployment("mistral-7b-support-v2", "nginx")),
  fc.constant(modelDeployment("gone")),
);
const requestFields = {
  uid: mostly(fc.uuid()),
  kind: mostly(gvk),
  operation: mostly(fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT")),
  namespace: mostly(fc.constantFrom("ml", "other", "")),
  object: mostly(object),
  dryRun: mostly(fc.boolean()),
};
const request = fc.oneof(fc.record(requestFields), fc.record(requestFields, { requiredKeys: [] }));
const envelope = fc.record({
  apiVersion: mostly(fc.constant("admission.k8s.io/v1")),
  kind: mostly(fc.constant("AdmissionReview")),
  request: mostly(request),
});
const body = fc.oneof(
  { weight: 6, arbitrary: envelope.map((e) => JSON.stringify(e)) },
  { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? "null") },
  { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
  { weight: 1, arbitrary: envelope.map((e) => JSON.stringify(e).slice(0, -1)) },
);

function uidOf(text: string): unknown {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || !("request" in parsed)) return undefined;
    const req = parsed.request;
    return typeof req === "object" && req !== null && "uid" in req ? req.uid : undefined;
  } catch {
    return undefined;
  }
}

describe.skipIf(noOpenssl)("webhook under fuzzed input", () => {
  let server: WebhookServer;
  beforeAll(async () => {
    const tls = certDir();
    server = await startWebhookServer({
      ...tls,
      port: 0,
      host: "127.0.0.1",
      ready: () => true,
      review: (r) => admissionDecision(r, cache.state()),
    });
  });
  afterAll(async () => server?.close());

  it(`answers ${RUNS} generated reviews with 200 or 400 and then still answers a valid one`, async () => {
    const bodies = fc.sample(body, { numRuns: RUNS, seed: 4 });
    const client = agent();
    const problems: string[] = [];
    let reviewed = 0;
    for (let i = 0; i < bodies.length; i += 32) {
      const batch = bodies.slice(i, i + 32);
      const replies: Reply[] = await Promise.all(batch.map((b) => post(server.port, b, { agent: client })));
      replies.forEach((reply, j) => {
        const sent = batch[j] ?? "";
        if (reply.status === 400 && reply.text.length > 0) return;
        reviewed++;
        const answered: unknown = reply.status === 200 ? JSON.parse(reply.text) : undefined;
        const ok =
          typeof answered === "object" &&
          answered !== null &&
          "response" in answered &&
          typeof answered.response === "object" &&
          answered.response !== null &&
          "uid" in answered.response &&
          answered.response.uid === uidOf(sent);
        if (!ok) problems.push(`${reply.status} ${reply.text.slice(0, 200)} for ${sent.slice(0, 200)}`);
      });
    }
    expect(problems.slice(0, 5)).toEqual([]);
    console.log(`fuzz: ${reviewed} of ${RUNS} bodies were well-formed enough to be decided`);
    expect(reviewed).toBeGreaterThan(RUNS / 20); // the generator must reach the decision, not only the parser
    const valid = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "still-here",
        kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
        operation: "CREATE",
        namespace: "ml",
        object: sampleObjects.find((o) => o["kind"] === "ModelDeployment"),
      },
    };
    const reply = await post(server.port, JSON.stringify(valid));
    expect(JSON.parse(reply.text).response).toEqual({ uid: "still-here", allowed: true });
    client.destroy();
  }, 120_000);
});
