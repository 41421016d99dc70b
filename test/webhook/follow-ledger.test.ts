// The webhook follows a file ledger that another process (the operator) appends to: a
// registration recorded after start-up is used by the next decisions.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileLedger, openLedger } from "../../src/ledger/index.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { startWebhookService, type WebhookService } from "../../src/webhook/service.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import type { ModelVersion } from "../../src/api/index.ts";
import { post } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping ledger-following test: the openssl CLI is not installed (needed for test certificates)",
  );

const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe.skipIf(noOpenssl)("webhook following a file ledger", () => {
  const dir = mkdtempSync(join(tmpdir(), "mc-webhook-follow-"));
  let writer: FileLedger;
  let service: WebhookService<ModelVersion, CompiledPolicy>;

  beforeAll(async () => {
    writer = await FileLedger.open(dir, { warn: () => undefined });
    service = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "dir", path: SAMPLES },
      reopenLedger: () => openLedger(dir, { readOnly: true }),
      ledgerRefreshMs: 50,
      cluster: "t",
      ...certDir(),
      port: 0,
      host: "127.0.0.1",
      log: quiet,
    });
  });
  afterAll(async () => {
    await service?.close();
    await writer?.close();
  });

  it("denies once the ledger records a different spec digest for the ModelVersion", async () => {
    const md = readManifestFile(join(SAMPLES, "deployment.yaml"))[0]?.object;
    const body = JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "f",
        kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
        operation: "CREATE",
        namespace: "ml",
        name: "support-chat",
        object: md,
      },
    });
    const allowed = async () => JSON.parse((await post(service.server.port, body)).text).response.allowed;
    expect(await allowed()).toBe(true);
    await writer.append([
      {
        v: 1,
        kind: "ModelVersionRegistered",
        cluster: "t",
        key: "reg-1",
        observedAt: "2026-11-25T00:00:00Z",
        subject: {
          apiVersion: "modelchain.io/v1alpha1",
          kind: "ModelVersion",
          namespace: "ml",
          name: "mistral-7b-support-v2",
        },
        data: { specDigest: `sha256:${"e".repeat(64)}` },
      },
    ]);
    for (let i = 0; i < 100 && (await allowed()); i++) await new Promise((r) => setTimeout(r, 50));
    const answer = JSON.parse((await post(service.server.port, body)).text).response;
    expect(answer.allowed).toBe(false);
    expect(answer.status.message).toContain("specDigestMatchesLedger failed");
    expect(service.cache.state().ledgerTip?.size).toBe(1);
  });
});

describe.skipIf(noOpenssl)("webhook started before its ledger exists", () => {
  it("serves at once and picks the ledger up once it has been created", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "mc-webhook-late-")), "ledger");
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_o: object, msg: string) => void warnings.push(msg) };
    const service = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "dir", path: SAMPLES },
      reopenLedger: () => openLedger(dir, { readOnly: true }),
      ledgerRefreshMs: 50,
      cluster: "t",
      ...certDir(),
      port: 0,
      host: "127.0.0.1",
      log,
    });
    try {
      expect(warnings).toContain("ledger facts not read yet");
      expect((await post(service.server.port, "", { method: "GET", path: "/readyz" })).status).toBe(200);
      const writer = await FileLedger.open(dir, { warn: () => undefined });
      await writer.append([
        {
          v: 1,
          kind: "ConfigChanged",
          cluster: "t",
          key: "k",
          observedAt: "2026-11-25T00:00:00Z",
          subject: { apiVersion: "v1", kind: "ConfigMap", name: "c" },
          data: {},
        },
      ]);
      // The webhook may first open the ledger between its creation and the append: size 0.
      for (let i = 0; i < 100 && (service.cache.state().ledgerTip?.size ?? 0) < 1; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(service.cache.state().ledgerTip?.size).toBe(1);
      await writer.close();
    } finally {
      await service.close();
    }
  });
});
