// Revoking is an act of someone other than the producer, after signing: it must leave the
// model's own signature, its spec digest and its children's parent bindings as they were.
import { describe, expect, it } from "vitest";
import { signedPayload, specDigest, type ModelVersion } from "../../src/api/index.ts";
import { lineagePolicy, verifyLineage } from "../../src/lineage/index.ts";
import { sampleObjects } from "../api/samples.ts";

const trustPolicy = sampleObjects("trust-policy.yaml")[0] as { spec: Parameters<typeof lineagePolicy>[0] };
const policy = lineagePolicy(trustPolicy.spec);
const models = [
  ...sampleObjects("base-model.yaml"),
  ...sampleObjects("fine-tuned.yaml"),
] as unknown as ModelVersion[];
const byName = (name: string): ModelVersion => {
  const found = models.find((m) => m.metadata.name === name);
  if (found === undefined) throw new Error(`no sample ModelVersion ${name}`);
  return structuredClone(found);
};
const revoke = (mv: ModelVersion): ModelVersion => ({
  ...mv,
  spec: { ...mv.spec, revoked: { reason: "weights poisoned", revokedAt: "2026-12-01T00:00:00Z" } },
});
const check = (mv: ModelVersion, world: ModelVersion[], name: string) =>
  verifyLineage(
    mv,
    (ns, n) => world.find((m) => m.metadata.namespace === ns && m.metadata.name === n),
    policy,
  ).checks.find((c) => c.name === name);

describe("revocation and the signed part of a ModelVersion", () => {
  it("leaves `revoked` out of the signed payload and the spec digest", () => {
    const mv = byName("mistral-7b-base");
    const revoked = revoke(mv);
    expect(new TextDecoder().decode(signedPayload(revoked.spec))).not.toContain("revoked");
    expect(specDigest(revoked.spec)).toBe(specDigest(mv.spec));
  });

  it("still verifies a signature made before the model was revoked, and fails it only as revoked", () => {
    // The sample's signature was made over the unrevoked spec, before this release.
    const revoked = revoke(byName("mistral-7b-base"));
    expect(check(revoked, [revoked], "signature")).toMatchObject({ passed: true });
    expect(check(revoked, [revoked], "notRevoked")).toMatchObject({
      passed: false,
      reason: "lineage: ml/mistral-7b-base is revoked: weights poisoned",
    });
  });

  it("keeps a child's parent binding: the child fails because its ancestor is revoked, not as rebound", () => {
    const parent = revoke(byName("mistral-7b-base"));
    const child = byName("mistral-7b-support-v2");
    const world = [parent, child];
    expect(check(child, world, "signature")).toMatchObject({ passed: true });
    expect(check(child, world, "ancestorsNotRevoked")).toMatchObject({ passed: false });
    expect(check(child, world, "parentsVerified")?.reason).not.toContain("signed over");
  });
});
