// spec.training.parameters: strings, numbers and booleans as written, and the one canonical form
// a signature covers (RFC 8785: a number is the double it reads as, written the shortest way).
import { describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { signedPayload, specDigest, validateModelVersion, type ModelVersion } from "../../src/api/index.ts";
import { lineagePolicy, signSpec, signatureVerifies, verifyLineage } from "../../src/lineage/index.ts";
import { SAMPLES, sampleObjects } from "./samples.ts";

const base = sampleObjects("base-model.yaml")[0] as unknown as ModelVersion;
const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));
const demoPublic = createPublicKey(demoKey);

/** The base sample with `parameters` written as YAML text, as a user would. */
function withParameters(yaml: string): ModelVersion {
  const mv = structuredClone(base);
  mv.spec.training = { ...mv.spec.training, parameters: parse(yaml) as Record<string, never> };
  delete mv.spec.signatures;
  return mv;
}

describe("training parameters", () => {
  it("accepts strings, numbers and booleans as written", () => {
    const mv = withParameters("learningRate: 3e-4\nepochs: 3\nbf16: true\noptimizer: adamw\nwarmup: 0.1");
    const checked = validateModelVersion(mv);
    expect(checked.ok, JSON.stringify(checked)).toBe(true);
    expect(mv.spec.training?.parameters).toEqual({
      learningRate: 0.0003,
      epochs: 3,
      bf16: true,
      optimizer: "adamw",
      warmup: 0.1,
    });
  });

  it.each([
    ["a list", "layers: [1, 2]", "spec.training.parameters.layers: is a list"],
    ["an object", "schedule: {warmup: 100}", "spec.training.parameters.schedule: is an object"],
    ["an empty object", "schedule: {}", "spec.training.parameters.schedule: is an object"],
    ["null", "seed: ~", "spec.training.parameters.seed: is null"],
    ["a key that is no identifier", "'lr-max': {a: 1}", 'spec.training.parameters["lr-max"]: is an object'],
  ])("refuses %s, naming the parameter", (_what, yaml, message) => {
    const checked = validateModelVersion(withParameters(yaml));
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(`${checked.errors[0]?.field}: ${checked.errors[0]?.message}`).toContain(message);
  });

  it.each([
    ["an integer past 2^53", "steps: 9007199254740993"],
    ["an integer-valued double past 2^53", "scale: 1e300"],
    ["infinity", "clip: .inf"],
  ])("refuses %s, which JSON readers may read as another value", (_what, yaml) => {
    const checked = validateModelVersion(withParameters(yaml));
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.errors[0]?.field).toMatch(/^spec\.training\.parameters\./);
  });
});

describe("the canonical form of a parameter (what a signature covers)", () => {
  it.each([
    ["3e-4", "0.0003", "3.0E-4", "0.00030", '"learningRate":0.0003'],
    ["1e3", "1000", "1000.0", "1.0e+3", '"learningRate":1000'],
    ["1e-7", "0.0000001", "1.0E-7", "100e-9", '"learningRate":1e-7'],
    ["-0.5", "-5e-1", "-0.50", "-.5", '"learningRate":-0.5'],
  ])("writes %s, %s, %s and %s as one number", (a, b, c, d, canonical) => {
    const digests = [a, b, c, d].map((v) => specDigest(withParameters(`learningRate: ${v}`).spec));
    expect(new Set(digests).size).toBe(1);
    const payload = new TextDecoder().decode(signedPayload(withParameters(`learningRate: ${a}`).spec));
    expect(payload).toContain(canonical);
  });

  it("keeps a quoted number a string: another value, another digest", () => {
    const number = specDigest(withParameters("learningRate: 3e-4").spec);
    const text = specDigest(withParameters('learningRate: "3e-4"').spec);
    expect(text).not.toBe(number);
    expect(new TextDecoder().decode(signedPayload(withParameters('learningRate: "3e-4"').spec))).toContain(
      '"learningRate":"3e-4"',
    );
  });

  it("verifies a signature over numeric parameters whichever way the numbers are written", () => {
    const signed = withParameters("learningRate: 3e-4\nepochs: 3\nbf16: true");
    const signature = signSpec(signed.spec, demoKey);
    const rewritten = withParameters("learningRate: 0.0003\nepochs: 3.0\nbf16: true");
    expect(signatureVerifies(rewritten.spec, signature, demoPublic)).toBe(true);
    const changed = withParameters("learningRate: 3e-5\nepochs: 3\nbf16: true");
    expect(signatureVerifies(changed.spec, signature, demoPublic)).toBe(false);
    const policy = lineagePolicy(
      (sampleObjects("trust-policy.yaml")[0] as { spec: Parameters<typeof lineagePolicy>[0] }).spec,
    );
    const mv = { ...rewritten, spec: { ...rewritten.spec, signatures: [signature] } };
    const verdict = verifyLineage(mv, () => undefined, policy);
    expect(verdict.checks.find((c) => c.name === "signature")).toMatchObject({ passed: true });
  });

  it("still verifies the signature made over string-valued parameters (samples/fine-tuned.yaml)", () => {
    const fineTuned = sampleObjects("fine-tuned.yaml")[0] as unknown as ModelVersion;
    expect(fineTuned.spec.training?.parameters).toEqual({
      epochs: "3",
      learningRate: "2e-5",
      loraRank: "16",
    });
    const [signature] = fineTuned.spec.signatures ?? [];
    expect(signature).toBeDefined();
    if (signature !== undefined) expect(signatureVerifies(fineTuned.spec, signature, demoPublic)).toBe(true);
    // The same values as numbers are another spec, which that signature does not cover.
    const asNumbers = structuredClone(fineTuned);
    asNumbers.spec.training = {
      ...asNumbers.spec.training,
      parameters: { epochs: 3, learningRate: 2e-5, loraRank: 16 },
    };
    if (signature !== undefined) expect(signatureVerifies(asNumbers.spec, signature, demoPublic)).toBe(false);
  });
});
