import { describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { specDigest, type ModelVersion } from "../../src/api/index.ts";
import { lineagePolicy, signSpec, verifyLineage, type LineagePolicy } from "../../src/lineage/index.ts";
import { SAMPLES, sampleFiles, sampleObjects } from "../api/samples.ts";

const trustPolicy = sampleObjects("trust-policy.yaml")[0] as { spec: Parameters<typeof lineagePolicy>[0] };
const policy: LineagePolicy = lineagePolicy(trustPolicy.spec);
const goodModels = [
  ...sampleObjects("base-model.yaml"),
  ...sampleObjects("fine-tuned.yaml"),
] as unknown as ModelVersion[];
const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));

function world(models: ModelVersion[]) {
  const byName = new Map(models.map((m) => [`${m.metadata.namespace}/${m.metadata.name}`, m]));
  return (ns: string, name: string) => byName.get(`${ns}/${name}`);
}

function modelsIn(file: string): ModelVersion[] {
  return sampleObjects(file).filter((o) => o["kind"] === "ModelVersion") as unknown as ModelVersion[];
}

function failedChecks(mv: ModelVersion, models: ModelVersion[], p = policy) {
  return verifyLineage(mv, world(models), p)
    .checks.filter((c) => !c.passed && c.required)
    .map((c) => c.name);
}

describe("RFC 8032 ed25519 through node:crypto", () => {
  const vectors = [
    [
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ],
    [
      "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ],
    [
      "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ],
  ];
  it.each(vectors)("secret %s signs and verifies as published", (secret, pub, message, signature) => {
    const privateKey = createPrivateKey({
      key: Buffer.from(`302e020100300506032b657004220420${secret}`, "hex"),
      format: "der",
      type: "pkcs8",
    });
    const publicKey = createPublicKey({
      key: Buffer.from(`302a300506032b6570032100${pub}`, "hex"),
      format: "der",
      type: "spki",
    });
    expect(createPublicKey(privateKey).export({ format: "der", type: "spki" }).toString("hex")).toBe(
      `302a300506032b6570032100${pub}`,
    );
    expect(sign(null, Buffer.from(message, "hex"), privateKey).toString("hex")).toBe(signature);
    expect(verify(null, Buffer.from(message, "hex"), publicKey, Buffer.from(signature, "hex"))).toBe(true);
    const flipped = Buffer.from(signature, "hex");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(verify(null, Buffer.from(message, "hex"), publicKey, flipped)).toBe(false);
  });
});

describe("verifyLineage on the samples", () => {
  it("verifies the signed chain, with depth counted in generations", () => {
    const [base, child] = goodModels;
    expect(verifyLineage(child as ModelVersion, world(goodModels), policy)).toMatchObject({
      verified: true,
      depth: 2,
      failed: [],
    });
    expect(verifyLineage(base as ModelVersion, world(goodModels), policy).depth).toBe(1);
  });

  it.each([
    ["bad/unsigned.yaml", "support-unsigned", ["signature"], /is not signed/],
    [
      "bad/tampered.yaml",
      "support-tampered",
      ["signature"],
      /does not verify .* \(changed after signing\?\)/,
    ],
    ["bad/wrong-key.yaml", "support-wrong-key", ["signature"], /signed only by untrusted keys/],
    [
      "bad/missing-parent.yaml",
      "support-orphan",
      ["parentsVerified"],
      /parent ml\/mistral-7b-ghost does not exist/,
    ],
    [
      "bad/unpinned-dataset.yaml",
      "support-unpinned-data",
      ["datasetsPinned"],
      /dataset "support-tickets-2025q3" has no sha256 digest/,
    ],
    [
      "bad/revoked-ancestor.yaml",
      "support-on-recalled",
      ["parentsVerified", "ancestorsNotRevoked"],
      /ancestor ml\/mistral-7b-base-recalled is revoked/,
    ],
    [
      "bad/cycle.yaml",
      "support-loop-a",
      ["parentsVerified", "acyclic"],
      /cycle ml\/support-loop-a -> ml\/support-loop-b -> ml\/support-loop-a/,
    ],
    [
      "bad/unbound-parent.yaml",
      "support-unbound",
      ["parentsVerified"],
      /parent ml\/mistral-7b-base is not bound by the child's signature \(spec.parents\[0\].specDigest is missing/,
    ],
  ])("%s fails exactly %s", (file, name, checks, message) => {
    const models = [...goodModels, ...modelsIn(file)];
    const mv = models.find((m) => m.metadata.name === name) as ModelVersion;
    const verdict = verifyLineage(mv, world(models), policy);
    expect(verdict.verified).toBe(false);
    expect(failedChecks(mv, models)).toEqual(checks);
    expect(verdict.failed.join("; ")).toMatch(message);
  });

  it("names the revoked grandparent in every descendant", () => {
    const revoked = modelsIn("bad/revoked-ancestor.yaml");
    const parent = revoked.find((m) => m.metadata.name === "support-on-recalled") as ModelVersion;
    const grandchild: ModelVersion = structuredClone(parent);
    grandchild.metadata.name = "support-on-recalled-child";
    grandchild.spec.parents = [{ name: "support-on-recalled", specDigest: specDigest(parent.spec) }];
    grandchild.spec.signatures = [signSpec(grandchild.spec, demoKey)];
    const verdict = verifyLineage(grandchild, world([...revoked, grandchild]), policy);
    expect(verdict.revoked).toBe("ml/mistral-7b-base-recalled");
    expect(verdict.failed.join("; ")).toMatch(/ancestor ml\/mistral-7b-base-recalled is revoked/);
  });

  it("fails a chain deeper than the policy's limit", () => {
    const [base] = goodModels;
    const chain: ModelVersion[] = [base as ModelVersion];
    for (let i = 1; i <= 9; i++) {
      const mv: ModelVersion = structuredClone(base as ModelVersion);
      const previous = chain.at(-1) as ModelVersion;
      mv.metadata.name = `gen-${i}`;
      mv.spec.parents = [{ name: previous.metadata.name, specDigest: specDigest(previous.spec) }];
      mv.spec.signatures = [signSpec(mv.spec, demoKey)];
      chain.push(mv);
    }
    const last = chain.at(-1) as ModelVersion;
    expect(verifyLineage(last, world(chain), { ...policy, maxDepth: 10 }).verified).toBe(true);
    const shallow = verifyLineage(last, world(chain), { ...policy, maxDepth: 8 });
    expect(shallow.checks.find((c) => c.name === "depth")).toMatchObject({
      passed: false,
      reason: expect.stringMatching(/depth 10, over the limit 8/),
    });
  });

  it("compares the ledger's recorded spec digest when the policy requires it", () => {
    const [, child] = goodModels as [ModelVersion, ModelVersion];
    const strict = { ...policy, require: { ...policy.require, recordedInLedger: true } };
    const recorded = (ns: string, name: string) => {
      const mv = world(goodModels)(ns, name);
      return mv === undefined ? undefined : specDigest(mv.spec);
    };
    expect(verifyLineage(child, world(goodModels), strict, recorded).verified).toBe(true);
    const tamperedChild = (ns: string, name: string) =>
      name === child.metadata.name ? `sha256:${"0".repeat(64)}` : recorded(ns, name);
    const tampered = verifyLineage(child, world(goodModels), strict, tamperedChild);
    expect(tampered.failed.join()).toMatch(
      /differs from the recorded sha256:0{64} \(tampered after registration\?\)/,
    );
    expect(verifyLineage(child, world(goodModels), strict, () => undefined).failed.join()).toMatch(
      /no ModelVersionRegistered entry/,
    );
    expect(verifyLineage(child, world(goodModels), policy, () => undefined).verified).toBe(true);
  });

  it("binds each parent by the spec digest the child was signed over", () => {
    const [base, child] = goodModels as [ModelVersion, ModelVersion];
    const impostor: ModelVersion = structuredClone(base);
    impostor.spec.artifact.digest = `sha256:${"e".repeat(64)}`;
    impostor.spec.signatures = [signSpec(impostor.spec, demoKey)];
    expect(verifyLineage(impostor, world([impostor]), policy).verified).toBe(true);
    const verdict = verifyLineage(child, world([impostor, child]), policy);
    expect(verdict.verified).toBe(false);
    expect(failedChecks(child, [impostor, child])).toEqual(["parentsVerified"]);
    expect(verdict.failed.join()).toBe(
      `lineage: parent ml/mistral-7b-base's spec digest is ${specDigest(impostor.spec)}, the child was signed over ${specDigest(base.spec)}`,
    );
  });

  it("refuses to verify a spec holding a number that JSON parsing would change", () => {
    const [base] = goodModels as [ModelVersion];
    const big: ModelVersion = structuredClone(base);
    big.spec.artifact.sizeBytes = 2 ** 53;
    big.spec.signatures = [signSpec(big.spec, demoKey)];
    expect(verifyLineage(big, world([big]), policy).failed.join()).toMatch(
      /spec.artifact.sizeBytes 9007199254740992 is an integer outside/,
    );
  });

  it("lets a policy waive a check while still reporting it", () => {
    const models = [...goodModels, ...modelsIn("bad/unsigned.yaml")];
    const mv = models.find((m) => m.metadata.name === "support-unsigned") as ModelVersion;
    const lenient = { ...policy, require: { ...policy.require, signature: false } };
    const verdict = verifyLineage(mv, world(models), lenient);
    expect(verdict.verified).toBe(true);
    expect(verdict.checks.find((c) => c.name === "signature")).toMatchObject({
      passed: false,
      required: false,
    });
  });

  it("covers every bad sample with a ModelVersion", () => {
    const withModels = sampleFiles("bad").filter((f) => modelsIn(f).length > 0);
    expect(withModels.sort()).toEqual([
      "bad/cycle.yaml",
      "bad/missing-parent.yaml",
      "bad/revoked-ancestor.yaml",
      "bad/tampered.yaml",
      "bad/unbound-parent.yaml",
      "bad/unpinned-dataset.yaml",
      "bad/unsigned.yaml",
      "bad/wrong-key.yaml",
    ]);
  });
});
