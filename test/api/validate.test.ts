import { describe, expect, it } from "vitest";
import {
  describeErrors,
  namespaceMatches,
  setCondition,
  specDigest,
  validateModelDeployment,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelVersion,
} from "../../src/api/index.ts";
import { sampleObjects } from "./samples.ts";

const fineTuned = () => structuredClone(sampleObjects("fine-tuned.yaml")[0]) as unknown as ModelVersion;

describe("schema validation", () => {
  it.each([
    [
      "a malformed dataset digest",
      (mv: ModelVersion) => ((mv.spec.datasets ?? [])[1] = { name: "x", uri: "s3://b/x", digest: "md5:abc" }),
      "spec.datasets[1].digest: must match ^sha256:[a-f0-9]{64}$",
    ],
    [
      "a missing artifact",
      (mv: ModelVersion) => delete (mv.spec as Partial<ModelVersion["spec"]>).artifact,
      "spec.artifact: is required",
    ],
    [
      "an unknown artifact scheme",
      (mv: ModelVersion) => (mv.spec.artifact.uri = "ftp://x/y"),
      "spec.artifact.uri: must match ^((oci|s3|gs|https|hf|pvc)://.+|models:/",
    ],
    [
      "a misspelt field",
      (mv: ModelVersion) => Object.assign(mv.spec, { datset: [] }),
      "spec.datset: is not a known field",
    ],
    [
      "a wrong apiVersion",
      (mv: ModelVersion) => (mv.apiVersion = "modelchain.io/v1"),
      'apiVersion: must be "modelchain.io/v1alpha1"',
    ],
    [
      "a missing name",
      (mv: ModelVersion) => delete (mv.metadata as Partial<ModelVersion["metadata"]>).name,
      "metadata.name: is required",
    ],
  ])("names the field for %s", (_what, mutate, message) => {
    const mv = fineTuned();
    mutate(mv);
    const result = validateModelVersion(mv);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeErrors(result.errors)).toContain(message);
  });

  it.each([
    [
      "an artifact size JSON parsing would read as another value",
      (mv: ModelVersion) => (mv.spec.artifact.sizeBytes = 2 ** 53),
      "spec.artifact.sizeBytes: must be <= 9007199254740991",
    ],
    [
      "a lone UTF-16 surrogate in a signed string",
      (mv: ModelVersion) => (mv.spec.training = { ...mv.spec.training, runId: "run-\ud800" }),
      "spec.training.runId: is not well-formed Unicode",
    ],
    [
      "a lone surrogate in a parameter name",
      (mv: ModelVersion) => (mv.spec.training = { parameters: { "lr\udc00": "1" } }),
      'spec.training.parameters["lr\\udc00"]: key is not well-formed Unicode',
    ],
  ])("refuses %s in a ModelVersion spec, naming the field", (_what, mutate, message) => {
    const mv = fineTuned();
    mutate(mv);
    const result = validateModelVersion(mv);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeErrors(result.errors)).toContain(message);
  });

  it.each([
    [{ key: "team", operator: "In", values: [] }, "must be non-empty for operator In"],
    [{ key: "team", operator: "NotIn" }, "must be non-empty for operator NotIn"],
    [{ key: "team", operator: "Exists", values: ["ml"] }, "must be empty for operator Exists"],
  ])("refuses a trust policy whose namespace selector is malformed: %j", (requirement, message) => {
    const policy = sampleObjects("trust-policy.yaml")[0] as { spec: Record<string, unknown> };
    const bad = {
      ...policy,
      spec: { ...policy.spec, namespaceSelector: { matchExpressions: [requirement] } },
    };
    const result = validateModelTrustPolicy(bad);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(describeErrors(result.errors)).toBe(
        `spec.namespaceSelector.matchExpressions[0].values: ${message}`,
      );
  });

  it("ignores server-set metadata and returns the object with it", () => {
    const mv = {
      ...fineTuned(),
      metadata: { name: "a", namespace: "ml", uid: "u", managedFields: [{}], resourceVersion: "7" },
    };
    const result = validateModelVersion(mv);
    expect(result.ok && result.value.metadata.uid).toBe("u");
  });

  it("rejects an enum value outside the set", () => {
    const md = sampleObjects("deployment.yaml")[0] as Record<string, unknown>;
    const result = validateModelDeployment({ ...md, spec: { ...(md["spec"] as object), replicas: -1 } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeErrors(result.errors)).toMatch(/spec.replicas: must be >= 0/);
  });
});

describe("spec digests", () => {
  it("do not depend on signatures, key order or formatting, and change with any field", () => {
    const mv = fineTuned();
    const base = specDigest(mv.spec);
    expect(specDigest({ ...mv.spec, signatures: [] })).toBe(base);
    const reordered = JSON.parse(JSON.stringify(mv.spec, Object.keys(mv.spec).reverse()));
    expect(
      specDigest({
        ...reordered,
        artifact: mv.spec.artifact,
        datasets: mv.spec.datasets,
        training: mv.spec.training,
        parents: mv.spec.parents,
      }),
    ).toBe(base);
    expect(specDigest({ ...mv.spec, version: "2.0.1" })).not.toBe(base);
  });
});

describe("namespace selectors", () => {
  it.each([
    [undefined, { a: "b" }, true],
    [{ matchLabels: { team: "ml" } }, { team: "ml" }, true],
    [{ matchLabels: { team: "ml" } }, { team: "web" }, false],
    [
      { matchExpressions: [{ key: "env", operator: "In" as const, values: ["prod"] }] },
      { env: "prod" },
      true,
    ],
    [
      { matchExpressions: [{ key: "env", operator: "NotIn" as const, values: ["prod"] }] },
      { env: "prod" },
      false,
    ],
    [{ matchExpressions: [{ key: "env", operator: "Exists" as const }] }, {}, false],
    [{ matchExpressions: [{ key: "env", operator: "DoesNotExist" as const }] }, {}, true],
  ])("selector %j on %j matches: %s", (selector, labels, expected) => {
    expect(namespaceMatches(selector, labels)).toBe(expected);
  });
});

describe("conditions", () => {
  it("keep lastTransitionTime while the status does not change", () => {
    const t1 = new Date("2026-01-01T00:00:00Z");
    const t2 = new Date("2026-01-02T00:00:00Z");
    const first = setCondition(undefined, { type: "Verified", status: "True", reason: "A", message: "" }, t1);
    const same = setCondition(first, { type: "Verified", status: "True", reason: "B", message: "x" }, t2);
    expect(same[0]?.lastTransitionTime).toBe(t1.toISOString());
    const flipped = setCondition(same, { type: "Verified", status: "False", reason: "C", message: "" }, t2);
    expect(flipped[0]?.lastTransitionTime).toBe(t2.toISOString());
    expect(flipped).toHaveLength(1);
  });
});
