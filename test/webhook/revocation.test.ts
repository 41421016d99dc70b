// Admission of revocations as the ledger records them: taking spec.revoked away is denied with
// a message saying how to reinstate, a signed reinstatement by a trusted key is admitted, and a
// revoked artifact digest denies deployments of every ModelVersion that carries it.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ModelTrustPolicy, ModelVersion } from "../../src/api/index.ts";
import { keyIdOf, reinstatementSubject, signReinstatement } from "../../src/lineage/index.ts";
import type { LedgerEntry } from "../../src/ledger/index.ts";
import { entryFor, recording, Registrations, Revocations } from "../../src/trail/index.ts";
import { admissionDecision, VerifiedCache, type AdmissionRequest } from "../../src/webhook/index.ts";
import { modelchainVocabulary } from "../../src/webhook/vocabulary.ts";
import { sampleObjects } from "../api/samples.ts";

const reinstater = generateKeyPairSync("ed25519");
const stranger = generateKeyPairSync("ed25519");
const samplePolicy = sampleObjects("trust-policy.yaml")[0] as unknown as ModelTrustPolicy;
const policy: ModelTrustPolicy = structuredClone(samplePolicy);
policy.spec.revocation = {
  reinstatementKeys: [
    {
      keyId: keyIdOf(reinstater.publicKey),
      publicKey: reinstater.publicKey.export({ type: "spki", format: "pem" }).toString(),
    },
  ],
};
const base = (): ModelVersion => {
  const mv = structuredClone(sampleObjects("base-model.yaml")[0] as unknown as ModelVersion);
  mv.metadata.uid = "uid-base";
  return mv;
};
const revokedBase = (): ModelVersion => {
  const mv = base();
  mv.spec.revoked = { reason: "weights leaked" };
  return mv;
};
const deployment = sampleObjects("deployment.yaml").find((o) => o["kind"] === "ModelDeployment");

function revocationEntry(mv: ModelVersion): LedgerEntry {
  const r = recording(
    "ModelVersionRevoked",
    { modelVersion: "uid-base" },
    { specDigest: "sha256:x", reason: "weights leaked", revokedAt: null },
    "m",
  );
  return entryFor(mv, r, "prod", new Date(0));
}

function cacheWith(ledger: LedgerEntry[], models: ModelVersion[]): VerifiedCache<ModelVersion, unknown> {
  const cache = new VerifiedCache(modelchainVocabulary);
  cache.putPolicy(policy);
  for (const m of [...models, ...sampleObjects("fine-tuned.yaml")]) cache.putModelVersion(m);
  cache.putNamespace("ml", { "kubernetes.io/metadata.name": "ml" });
  const registrations = new Registrations();
  const revocations = new Revocations();
  ledger.forEach((e, i) => {
    registrations.add(i, e);
    revocations.add(i, e);
  });
  cache.setLedgerFacts({ tip: { size: ledger.length, root: "00".repeat(32) }, registrations, revocations });
  return cache as VerifiedCache<ModelVersion, unknown>;
}

function update(object: unknown, oldObject: unknown, kind = "ModelVersion"): AdmissionRequest {
  const name = (object as { metadata: { name: string } }).metadata.name;
  return {
    uid: "r1",
    kind: { group: "modelchain.io", version: "v1alpha1", kind },
    operation: oldObject === null ? "CREATE" : "UPDATE",
    namespace: "ml",
    name,
    object,
    oldObject,
    dryRun: false,
  };
}

const reinstatedWith = (key: typeof reinstater.privateKey, index = 0): ModelVersion => {
  const mv = base();
  mv.spec.reinstated = signReinstatement(reinstatementSubject(mv, index, "false alarm"), key);
  return mv;
};

describe("admission of revocations recorded in the ledger", () => {
  it("denies removing spec.revoked alone, saying how to reinstate", () => {
    const cache = cacheWith([revocationEntry(base())], [revokedBase()]);
    const d = admissionDecision(update(base(), revokedBase()), cache.state());
    expect(d).toMatchObject({ allowed: false, reason: "model-version-revoked", checkFailed: "notRevoked" });
    expect(d.message).toContain("removing spec.revoked does not reinstate ml/mistral-7b-base");
    expect(d.message).toContain("ledger (entry 0)");
    expect(d.message).toContain("modelchain reinstate -f");
    expect(d.message).toContain("--revocation 0");
  });

  it("denies removing spec.revoked before its revocation is recorded", () => {
    const d = admissionDecision(update(base(), revokedBase()), cacheWith([], [revokedBase()]).state());
    expect(d).toMatchObject({ allowed: false, reason: "model-version-revoked" });
    expect(d.message).toContain("not in the ledger yet");
  });

  it("admits a reinstatement signed by a key the policy trusts for it", () => {
    const cache = cacheWith([revocationEntry(base())], [revokedBase()]);
    const d = admissionDecision(update(reinstatedWith(reinstater.privateKey), revokedBase()), cache.state());
    expect(d).toMatchObject({ allowed: true });
  });

  it("denies a reinstatement by an untrusted key, or of another revocation", () => {
    const cache = cacheWith([revocationEntry(base())], [revokedBase()]);
    const untrusted = admissionDecision(
      update(reinstatedWith(stranger.privateKey), revokedBase()),
      cache.state(),
    );
    expect(untrusted.message).toContain("which no ModelTrustPolicy trusts for reinstatement");
    const other = admissionDecision(
      update(reinstatedWith(reinstater.privateKey, 3), revokedBase()),
      cache.state(),
    );
    expect(other.message).toContain(
      "lifts the revocation at ledger entry 3, but the one in force is entry 0",
    );
  });

  it("denies deployments of a model the ledger says is revoked, although its spec no longer says so", () => {
    const cache = cacheWith([revocationEntry(base())], [base()]);
    const d = admissionDecision(update(deployment, null, "ModelDeployment"), cache.state());
    expect(d).toMatchObject({ allowed: false, reason: "revoked-ancestor" });
    expect(d.message).toContain("ancestor ml/mistral-7b-base is revoked");
  });

  it("denies deployments of every model whose artifact digest is revoked", () => {
    const artifact = base().spec.artifact.digest;
    const revokedArtifact = entryFor(
      { apiVersion: "modelchain.io/v1alpha1", kind: "ModelTrustPolicy", metadata: { name: "p" } },
      recording(
        "ArtifactRevoked",
        { digest: artifact },
        { digest: artifact, reason: "poisoned", policy: "p" },
        "m",
      ),
      "other-cluster",
      new Date(0),
    );
    const cache = cacheWith([revokedArtifact], [base()]);
    const d = admissionDecision(update(deployment, null, "ModelDeployment"), cache.state());
    expect(d).toMatchObject({ allowed: false, reason: "revoked-ancestor" });
    const edit = base();
    edit.spec.training = { runId: "edited" };
    const mv = admissionDecision(update(edit, base()), cache.state());
    expect(mv.message).toContain(`its artifact ${artifact} is (ledger entry 0)`);
  });
});
