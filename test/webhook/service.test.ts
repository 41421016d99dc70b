// The whole webhook over HTTPS with a dir source: a denial is answered at once and recorded in
// the ledger afterwards, through the outbox it was given.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLedger, type Outbox } from "../../src/ledger/index.ts";
import { registry } from "../../src/metrics/index.ts";
import type { ModelVocabulary } from "../../src/webhook/cache.ts";
import { startWebhookService, type WebhookService } from "../../src/webhook/service.ts";
import { DIGEST, policy } from "./fixtures.ts";
import { post } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook service test: the openssl CLI is not installed (needed for test certificates)",
  );

interface Plain {
  namespace: string;
  name: string;
}

const vocabulary: ModelVocabulary<Plain, null> = {
  modelVersion: (o) => {
    const meta = typeof o === "object" && o !== null && "metadata" in o ? o.metadata : undefined;
    if (typeof meta !== "object" || meta === null || !("name" in meta) || typeof meta.name !== "string")
      return { ok: false, problem: "metadata.name is required" };
    const namespace = "namespace" in meta && typeof meta.namespace === "string" ? meta.namespace : "default";
    return {
      ok: true,
      object: { namespace, name: meta.name },
      view: { namespace, name: meta.name, revoked: false, revokedReason: "", specDigest: DIGEST },
    };
  },
  policy: () => ({ ok: true, view: { ...policy("p", "enforce"), policy: null } }),
  unrevocation: () => undefined,
  verify: () => ({ verified: true, checks: [] }),
  signature: () => ({ name: "signature", passed: true, reason: "signed" }),
};

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function review(uid: string, image: string): string {
  const object = {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: "serve", namespace: "ml" },
    spec: { modelVersion: "good", image },
  };
  const request = {
    uid,
    kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
    operation: "CREATE",
    namespace: "ml",
    name: "serve",
    object,
  };
  return JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });
}

describe.skipIf(noOpenssl)("webhook service with --source dir", () => {
  let service: WebhookService<Plain, null>;
  const ledger = new MemoryLedger();
  const outbox: Outbox = {
    enqueue: async (e) => void (await ledger.append(e)),
    depth: () => 0,
    flush: async () => undefined,
    close: async () => undefined,
  };

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-webhook-svc-"));
    writeFileSync(
      join(dir, "state.yaml"),
      "apiVersion: modelchain.io/v1alpha1\nkind: ModelVersion\nmetadata: {name: good, namespace: ml}\n---\nkind: ModelTrustPolicy\nmetadata: {name: p}\n",
    );
    service = await startWebhookService({
      vocabulary,
      source: { type: "dir", path: dir },
      outbox,
      cluster: "test",
      ...certDir(),
      port: 0,
      host: "127.0.0.1",
      log: quiet,
    });
  });
  afterAll(async () => service?.close());

  it("is ready once the directory is loaded, admits a pinned image and denies a tag", async () => {
    expect((await post(service.server.port, "", { method: "GET", path: "/readyz" })).status).toBe(200);
    const ok = JSON.parse((await post(service.server.port, review("a", `r/serve@${DIGEST}`))).text);
    expect(ok.response).toEqual({ uid: "a", allowed: true });
    const denied = JSON.parse((await post(service.server.port, review("b", "r/serve:latest"))).text);
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status.message).toContain("imagePinned failed");
  });

  it("counts reviews by decision, reason and resource, and cache lookups by result", async () => {
    await post(service.server.port, review("m1", "r/serve:2"));
    const text = await registry.metrics();
    expect(text).toMatch(
      /modelchain_admission_reviews_total\{decision="denied",reason="image-not-pinned",resource="modeldeployments"\} [1-9]/,
    );
    expect(text).toMatch(
      /modelchain_admission_reviews_total\{decision="allowed",reason="verified",resource="modeldeployments"\} [1-9]/,
    );
    expect(text).toMatch(/modelchain_admission_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(text).toMatch(/modelchain_admission_duration_seconds_count [1-9]/);
  });

  it("records the denial as an AdmissionDenied entry once, even when the API server retries it", async () => {
    await post(service.server.port, review("c", "r/serve:1"));
    await post(service.server.port, review("c", "r/serve:1"));
    await service.recorder?.settled();
    const kinds = await Promise.all(
      Array.from({ length: await ledger.size() }, async (_, i) => (await ledger.get(i)).envelope.entry),
    );
    const uids = (kind: string) => kinds.filter((e) => e.kind === kind).map((e) => e.data["reviewUid"]);
    expect(new Set(kinds.map((e) => e.kind))).toEqual(new Set(["AdmissionDenied", "ChangeAdmitted"]));
    expect(uids("AdmissionDenied").filter((u) => u === "c")).toHaveLength(1);
    expect(uids("AdmissionDenied")).toContain("b");
    expect(uids("AdmissionDenied")).not.toContain("a");
    // The admitted one is recorded as a change, and only it.
    expect(uids("ChangeAdmitted")).toEqual(["a"]);
  });
});
