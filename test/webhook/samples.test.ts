// Table-driven decisions over samples/: the signed good chain is admitted, each bad sample is
// denied with the check it was written to fail.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkManifests } from "../../src/webhook/check.ts";
import { admissionDecision } from "../../src/webhook/decision.ts";
import { loadDirCache } from "../../src/webhook/service.ts";
import { loadModelVersions, readManifestFile } from "../../src/webhook/source-dir.ts";
import { modelchainVocabulary } from "../../src/webhook/vocabulary.ts";
import { deployment, PINNED, request } from "./fixtures.ts";
import { Registrations, Revocations } from "../../src/trail/index.ts";

const SAMPLES = join(import.meta.dirname, "..", "..", "samples");

/** Registrations of these ModelVersions with a spec digest of zeros (none of the samples' specs). */
function registered(objects: [namespace: string, name: string, uid: string | undefined][]): Registrations {
  const registrations = new Registrations();
  objects.forEach(([namespace, name, uid], index) =>
    registrations.add(index, {
      v: 2,
      kind: "ModelVersionRegistered",
      cluster: "test",
      key: `ModelVersionRegistered/${uid ?? name}/zeros`,
      observedAt: "2026-11-25T00:00:00Z",
      subject: {
        apiVersion: "modelchain.io/v1alpha1",
        kind: "ModelVersion",
        namespace,
        name,
        ...(uid ? { uid } : {}),
      },
      data: { specDigest: `sha256:${"0".repeat(64)}` },
    }),
  );
  return registrations;
}

const revokedNone = (): Revocations => new Revocations();

async function judge(file: string): Promise<Array<[string, string, boolean, string]>> {
  const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
  const objects = readManifestFile(join(SAMPLES, file));
  loadModelVersions(cache, objects);
  return checkManifests(cache, objects).map((r) => [r.kind, r.name, r.allowed, r.reason]);
}

const deny = [
  {
    file: "bad/unsigned.yaml",
    deployment: "chat-unsigned",
    reason: "signature-invalid",
    modelVersionDenied: true,
  },
  {
    file: "bad/tampered.yaml",
    deployment: "chat-tampered",
    reason: "signature-invalid",
    modelVersionDenied: true,
  },
  {
    file: "bad/wrong-key.yaml",
    deployment: "chat-wrong-key",
    reason: "signature-invalid",
    modelVersionDenied: true,
  },
  {
    file: "bad/missing-parent.yaml",
    deployment: "chat-orphan",
    reason: "policy-check-failed",
    modelVersionDenied: false,
  },
  {
    file: "bad/revoked-ancestor.yaml",
    deployment: "chat-on-recalled",
    reason: "revoked-ancestor",
    modelVersionDenied: false,
  },
  {
    file: "bad/cycle.yaml",
    deployment: "chat-loop",
    reason: "model-version-unverified",
    modelVersionDenied: false,
  },
  {
    file: "bad/unpinned-dataset.yaml",
    deployment: "chat-unpinned-data",
    reason: "policy-check-failed",
    modelVersionDenied: false,
  },
  {
    file: "bad/unbound-parent.yaml",
    deployment: "chat-unbound",
    reason: "policy-check-failed",
    modelVersionDenied: false,
  },
  {
    file: "bad/unpinned-image.yaml",
    deployment: "chat-unpinned-image",
    reason: "image-not-pinned",
    modelVersionDenied: false,
  },
];

describe("decisions over samples/", () => {
  it("admits the signed chain's ModelDeployment", async () => {
    expect(await judge("deployment.yaml")).toContainEqual([
      "ModelDeployment",
      "support-chat",
      true,
      "verified",
    ]);
  });

  it("admits the signed ModelVersions themselves", async () => {
    for (const file of ["base-model.yaml", "fine-tuned.yaml"]) {
      for (const [kind, , allowed] of await judge(file))
        if (kind === "ModelVersion") expect(allowed, file).toBe(true);
    }
  });

  for (const d of deny) {
    it(`denies the ModelDeployment of ${d.file} with ${d.reason}`, async () => {
      const results = await judge(d.file);
      expect(results).toContainEqual(["ModelDeployment", d.deployment, false, d.reason]);
      const mvDenied = results.some(([kind, , allowed]) => kind === "ModelVersion" && !allowed);
      expect(mvDenied).toBe(d.modelVersionDenied);
    });
  }

  it("denies a ModelVersion whose recorded spec digest differs (tampered after registration)", async () => {
    const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
    cache.setLedgerFacts({
      tip: { size: 1, root: "00".repeat(32) },
      registrations: registered([["ml", "mistral-7b-support-v2", undefined]]),
      revocations: revokedNone(),
    });
    const md = readManifestFile(join(SAMPLES, "deployment.yaml"))[0];
    const d = admissionDecision(request("ModelDeployment", md?.object), cache.state());
    expect(d).toMatchObject({
      allowed: false,
      reason: "spec-digest-mismatch",
      checkFailed: "specDigestMatchesLedger",
    });
  });

  it("compares with the registration of the same object: a recreated ModelVersion (new uid) is not tampered", async () => {
    const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
    cache.setLedgerFacts({
      tip: undefined,
      registrations: registered([["ml", "mistral-7b-support-v2", "uid-a"]]),
      revocations: revokedNone(),
    });
    const mv = readManifestFile(join(SAMPLES, "fine-tuned.yaml"))[0]?.object ?? {};
    const md = readManifestFile(join(SAMPLES, "deployment.yaml"))[0]?.object;
    const withUid = (uid: string) => ({
      ...mv,
      metadata: { ...(typeof mv["metadata"] === "object" ? mv["metadata"] : {}), uid },
    });
    cache.putModelVersion(withUid("uid-b"));
    expect(admissionDecision(request("ModelDeployment", md), cache.state())).toMatchObject({ allowed: true });
    cache.putModelVersion(withUid("uid-a"));
    expect(admissionDecision(request("ModelDeployment", md), cache.state())).toMatchObject({
      allowed: false,
      reason: "spec-digest-mismatch",
    });
  });

  it("allows revoking a signed ModelVersion without re-signing it, but not other unsigned changes", async () => {
    const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
    const mv = readManifestFile(join(SAMPLES, "fine-tuned.yaml"))[0]?.object ?? {};
    const spec = typeof mv["spec"] === "object" && mv["spec"] !== null ? mv["spec"] : {};
    const revoked = { ...mv, spec: { ...spec, revoked: { reason: "training data licence withdrawn" } } };
    const update = (object: unknown) =>
      admissionDecision(
        request("ModelVersion", object, { operation: "UPDATE", oldObject: mv }),
        cache.state(),
      );
    expect(update(revoked)).toMatchObject({ allowed: true, reason: "revocation" });
    const edited = { ...mv, spec: { ...spec, version: "9.9.9" } };
    expect(update(edited)).toMatchObject({ allowed: false, reason: "signature-invalid" });
  });

  it("allows the same object in a namespace the policy does not select", async () => {
    const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
    const md = readManifestFile(join(SAMPLES, "bad", "unpinned-image.yaml"))[0]?.object ?? {};
    const metadata = { ...(typeof md["metadata"] === "object" ? md["metadata"] : {}), namespace: "sandbox" };
    const d = admissionDecision(
      request("ModelDeployment", { ...md, metadata }, { namespace: "sandbox" }),
      cache.state(),
    );
    expect(d).toMatchObject({ allowed: true, reason: "namespace-not-selected" });
  });
});

describe("image volumes of a labelled Deployment serving the sample chain's oci:// model", () => {
  const ARTIFACT = "registry.example.com/models/mistral-7b-support";
  const SIGNED = "sha256:c4e1a9f3b7d2e8c6a0f5b3d9e7c1a4f8b2d6e0c3a7f1b5d9e3c7a2f6b0d4e8c1";
  const labelled = (volumes: unknown[]) => ({
    ...(deployment("mistral-7b-support-v2", [PINNED]) as Record<string, unknown>),
    spec: { template: { spec: { containers: [{ name: "server", image: PINNED }], volumes } } },
  });
  const decide = async (volumes: unknown[]) => {
    const cache = await loadDirCache(modelchainVocabulary, SAMPLES);
    const mv = readManifestFile(join(SAMPLES, "fine-tuned.yaml"));
    expect(mv.map((o) => o.object).some((o) => JSON.stringify(o).includes(SIGNED))).toBe(true);
    return admissionDecision(request("Deployment", labelled(volumes)), cache.state());
  };

  it("admits the artifact mounted by its signed digest, beside other pinned image volumes", async () => {
    const d = await decide([
      { name: "model", image: { reference: `${ARTIFACT}@${SIGNED}` } },
      {
        name: "tokenizer",
        image: { reference: `registry.example.com/tokenizers/t@sha256:${"1".repeat(64)}` },
      },
      { name: "scratch", emptyDir: {} },
    ]);
    expect(d).toMatchObject({ allowed: true, reason: "verified" });
  });

  it.each([
    [
      "the artifact's repository at another digest",
      { name: "model", image: { reference: `${ARTIFACT}@sha256:${"9".repeat(64)}` } },
      `image volume model: ${ARTIFACT}@sha256:${"9".repeat(64)} is not the ModelVersion's artifact digest ${SIGNED}`,
    ],
    [
      "a tag",
      { name: "model", image: { reference: `${ARTIFACT}:2.0.0` } },
      `image volume model: ${ARTIFACT}:2.0.0 is not pinned by digest`,
    ],
    [
      "no reference",
      { name: "model", image: {} },
      "image volume model: reference null is not an image reference",
    ],
  ])("denies %s, naming the volume", async (_what, volume, says) => {
    const d = await decide([volume]);
    expect(d).toMatchObject({ allowed: false, reason: "artifact-volume-mismatch" });
    expect(d.message).toContain(says);
    expect(d.message).toContain("artifactVolumePinned failed");
  });
});
