import { describe, expect, it } from "vitest";
import { admissionDecision } from "../../src/webhook/decision.ts";
import {
  deployment,
  DIGEST,
  fakeState,
  modelDeployment,
  PINNED,
  policy,
  request,
  type FakeMV,
} from "./fixtures.ts";

const good: FakeMV = { namespace: "ml", name: "child" };
const revoked: FakeMV = { namespace: "ml", name: "old", revoked: true };
const revokedParent: FakeMV = {
  namespace: "ml",
  name: "grandchild",
  verdict: {
    verified: false,
    checks: [{ name: "ancestorsNotRevoked", passed: false, reason: "ancestor ml/base is revoked" }],
  },
};
const unsigned: FakeMV = {
  namespace: "ml",
  name: "unsigned",
  verdict: {
    verified: false,
    checks: [{ name: "signature", passed: false, reason: "no signature by a trusted key" }],
  },
};
const unpinnedData: FakeMV = {
  namespace: "ml",
  name: "loose",
  verdict: {
    verified: false,
    checks: [{ name: "datasetsPinned", passed: false, reason: 'dataset "web" has no sha256 digest' }],
  },
};
const all = [good, revoked, revokedParent, unsigned, unpinnedData];
const enforce = fakeState(all, [policy("strict", "enforce")]);

describe("admissionDecision for workloads under an enforce policy", () => {
  const cases = [
    {
      name: "admits a ModelDeployment of a verified ModelVersion with a pinned image",
      obj: modelDeployment("child"),
      allowed: true,
      reason: "verified",
    },
    {
      name: "denies a ModelDeployment whose image is a tag",
      obj: modelDeployment("child", "registry.example/serve:1.0"),
      allowed: false,
      reason: "image-not-pinned",
    },
    {
      name: "denies a ModelDeployment whose image digest is short",
      obj: modelDeployment("child", "r/serve@sha256:abc"),
      allowed: false,
      reason: "image-not-pinned",
    },
    {
      name: "denies a ModelDeployment of a missing ModelVersion",
      obj: modelDeployment("nope"),
      allowed: false,
      reason: "model-version-missing",
    },
    {
      name: "denies a revoked ModelVersion",
      obj: modelDeployment("old"),
      allowed: false,
      reason: "model-version-revoked",
    },
    {
      name: "denies a ModelVersion with a revoked ancestor",
      obj: modelDeployment("grandchild"),
      allowed: false,
      reason: "revoked-ancestor",
    },
    {
      name: "denies an unsigned ModelVersion",
      obj: modelDeployment("unsigned"),
      allowed: false,
      reason: "signature-invalid",
    },
    {
      name: "denies when a policy-required check fails",
      obj: modelDeployment("loose"),
      allowed: false,
      reason: "policy-check-failed",
    },
    {
      name: "denies a ModelDeployment without spec",
      obj: { metadata: { name: "x" } },
      allowed: false,
      reason: "invalid-object",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = admissionDecision(request("ModelDeployment", c.obj), enforce);
      expect({ allowed: d.allowed, reason: d.reason }).toEqual({ allowed: c.allowed, reason: c.reason });
      expect(d.resource).toBe("modeldeployments");
      if (!c.allowed) expect(d.message).toContain(`${d.checkFailed} failed`);
    });
  }

  it("names the unpinned container of a labelled Deployment", () => {
    const d = admissionDecision(
      request("Deployment", deployment("child", [PINNED, "nginx:latest"])),
      enforce,
    );
    expect(d.allowed).toBe(false);
    expect(d.message).toContain("spec.template.spec.containers[c1].image");
  });

  it("admits a labelled Deployment whose every container is pinned", () => {
    expect(
      admissionDecision(request("Deployment", deployment("child", [PINNED, PINNED])), enforce).allowed,
    ).toBe(true);
  });

  it("leaves Deployments without the model-version label untouched", () => {
    const d = admissionDecision(request("Deployment", deployment(undefined, ["nginx:latest"])), enforce);
    expect(d).toMatchObject({ allowed: true, reason: "ungated" });
  });

  it("denies as spec-digest-mismatch when the verdict says the spec changed after registration", () => {
    const edited: FakeMV = {
      namespace: "ml",
      name: "edited",
      verdict: {
        verified: false,
        checks: [
          { name: "signature", passed: true, reason: "signed by team-a" },
          {
            name: "specDigestMatchesLedger",
            passed: false,
            reason: `lineage: ml/edited spec digest ${DIGEST} differs from the recorded sha256:${"b".repeat(64)}`,
          },
        ],
      },
    };
    const state = fakeState([...all, edited], [policy("strict", "enforce")]);
    const d = admissionDecision(request("ModelDeployment", modelDeployment("edited")), state);
    expect(d).toMatchObject({ allowed: false, reason: "spec-digest-mismatch" });
    expect(d.message).toContain("b".repeat(64));
  });

  it("allows deletes of anything", () => {
    const d = admissionDecision(
      request("ModelDeployment", modelDeployment("nope"), { operation: "DELETE" }),
      enforce,
    );
    expect(d).toMatchObject({ allowed: true, reason: "ungated" });
  });

  it("allows metadata updates of an object that is being deleted so finalizers can finish", () => {
    const metadata = { name: "serve", deletionTimestamp: "2026-01-01T00:00:00Z" };
    const old = {
      metadata: { ...metadata, finalizers: ["modelchain.io/ledger-record"] },
      spec: { modelVersion: "nope" },
    };
    const obj = { metadata, spec: { modelVersion: "nope" } };
    const d = admissionDecision(
      request("ModelDeployment", obj, { operation: "UPDATE", oldObject: old }),
      enforce,
    );
    expect(d).toMatchObject({ allowed: true, reason: "unchanged" });
  });

  it("allows an update that changes only metadata, so the operator can add finalizers", () => {
    const old = modelDeployment("old");
    const withFinalizer = {
      ...(old as object),
      metadata: { name: "serve", namespace: "ml", finalizers: ["modelchain.io/ledger"] },
    };
    const d = admissionDecision(
      request("ModelDeployment", withFinalizer, { operation: "UPDATE", oldObject: old }),
      enforce,
    );
    expect(d).toMatchObject({ allowed: true, reason: "unchanged" });
  });

  it("allows scaling a ModelDeployment of a revoked ModelVersion down, but not up", () => {
    const at = (replicas: number) => modelDeployment("old", PINNED, replicas);
    const update = (to: number, from: number) =>
      admissionDecision(
        request("ModelDeployment", at(to), { operation: "UPDATE", oldObject: at(from) }),
        enforce,
      );
    expect(update(0, 3)).toMatchObject({ allowed: true, reason: "scale-down" });
    expect(update(5, 3)).toMatchObject({ allowed: false, reason: "model-version-revoked" });
  });

  it("judges an update that changes the spec", () => {
    const d = admissionDecision(
      request("ModelDeployment", modelDeployment("old"), {
        operation: "UPDATE",
        oldObject: modelDeployment("child"),
      }),
      enforce,
    );
    expect(d).toMatchObject({ allowed: false, reason: "model-version-revoked" });
  });

  it("judges an update that relabels a Deployment to another ModelVersion", () => {
    const d = admissionDecision(
      request("Deployment", deployment("old", [PINNED]), {
        operation: "UPDATE",
        oldObject: deployment("child", [PINNED]),
      }),
      enforce,
    );
    expect(d).toMatchObject({ allowed: false, reason: "model-version-revoked" });
  });

  it("records each enforced denial, except on dry runs", () => {
    const obj = modelDeployment("old");
    expect(admissionDecision(request("ModelDeployment", obj), enforce).record).toHaveLength(1);
    expect(admissionDecision(request("ModelDeployment", obj, { dryRun: true }), enforce).record).toHaveLength(
      0,
    );
  });
});

describe("admissionDecision modes and namespace selection", () => {
  const obj = modelDeployment("old");

  it("warn mode allows with a warning naming the check", () => {
    const d = admissionDecision(request("ModelDeployment", obj), fakeState(all, [policy("soft", "warn")]));
    expect(d.allowed).toBe(true);
    expect(d.warnings.join()).toContain("notRevoked failed");
    expect(d.record).toHaveLength(0);
  });

  it("audit mode allows without warnings and records the finding", () => {
    const d = admissionDecision(request("ModelDeployment", obj), fakeState(all, [policy("watch", "audit")]));
    expect(d).toMatchObject({ allowed: true, warnings: [], reason: "model-version-revoked" });
    expect(d.record.map((f) => f.mode)).toEqual(["audit"]);
  });

  it("an enforce policy wins over a warn policy on the same namespace", () => {
    const d = admissionDecision(
      request("ModelDeployment", obj),
      fakeState(all, [policy("soft", "warn"), policy("strict", "enforce")]),
    );
    expect(d.allowed).toBe(false);
    expect(d.message).toContain("ModelTrustPolicy strict");
    expect(d.warnings).toHaveLength(1);
  });

  it("allows namespaces outside every policy's selector untouched", () => {
    const onlyOther = policy("strict", "enforce", (l) => l["team"] === "other");
    const d = admissionDecision(request("ModelDeployment", obj), fakeState(all, [onlyOther]));
    expect(d).toMatchObject({ allowed: true, reason: "namespace-not-selected", warnings: [] });
  });

  it("allows everything when no trust policy exists", () => {
    expect(admissionDecision(request("ModelDeployment", obj), fakeState(all, [])).allowed).toBe(true);
  });
});

describe("admissionDecision for ModelVersions", () => {
  it("admits a ModelVersion whose signature verifies even if its parents are unknown", () => {
    const mv: FakeMV = {
      ...good,
      verdict: {
        verified: false,
        checks: [
          { name: "signature", passed: true, reason: "ok" },
          { name: "parentsVerified", passed: false, reason: "parent missing" },
        ],
      },
    };
    expect(admissionDecision(request("ModelVersion", mv), enforce).allowed).toBe(true);
  });

  it("denies a ModelVersion whose signature does not verify", () => {
    const d = admissionDecision(request("ModelVersion", unsigned), enforce);
    expect(d).toMatchObject({ allowed: false, reason: "signature-invalid", checkFailed: "signature" });
  });

  it("denies a ModelVersion that fails the schema, naming the field", () => {
    const d = admissionDecision(request("ModelVersion", { spec: {} }), enforce);
    expect(d).toMatchObject({ allowed: false, reason: "invalid-object" });
    expect(d.message).toContain("metadata.name");
  });
});
