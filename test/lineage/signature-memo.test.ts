// Remembered ed25519 checks: a memo may only ever give the answer verify() would give. Each case
// pairs what was remembered with an input that differs in one part (payload, signature, key).
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ModelVersion, ModelVersionSpec } from "../../src/api/index.ts";
import {
  rememberedVerifications,
  signSpec,
  signatureVerifies,
  VERIFIED_PER_KEY,
} from "../../src/lineage/keys.ts";
import { sampleObjects } from "../api/samples.ts";

const sample = (sampleObjects("fine-tuned.yaml")[0] as unknown as ModelVersion).spec;
const keys = () => generateKeyPairSync("ed25519");
const spec = (version: string): ModelVersionSpec => ({ ...structuredClone(sample), version, signatures: [] });

describe("remembered signature checks", () => {
  it("remembers a check once and answers it again without another entry", () => {
    const { publicKey, privateKey } = keys();
    const s = spec("1.0.0");
    const sig = signSpec(s, privateKey);
    expect(signatureVerifies(s, sig, publicKey)).toBe(true);
    expect(rememberedVerifications(publicKey)).toBe(1);
    expect(signatureVerifies(structuredClone(s), { ...sig }, publicKey)).toBe(true);
    expect(rememberedVerifications(publicKey)).toBe(1);
  });

  it("refuses a remembered signature over another payload, with another key, or with a changed byte", () => {
    const { publicKey, privateKey } = keys();
    const s = spec("1.0.0");
    const sig = signSpec(s, privateKey);
    expect(signatureVerifies(s, sig, publicKey)).toBe(true);
    expect(signatureVerifies(spec("1.0.1"), sig, publicKey)).toBe(false);
    expect(signatureVerifies(s, sig, keys().publicKey)).toBe(false);
    const bytes = Buffer.from(sig.signature, "base64");
    bytes[5] = (bytes[5] ?? 0) ^ 1;
    expect(signatureVerifies(s, { ...sig, signature: bytes.toString("base64") }, publicKey)).toBe(false);
    // The refusals are remembered too, and do not change the remembered success.
    expect(rememberedVerifications(publicKey)).toBe(3);
    expect(signatureVerifies(s, sig, publicKey)).toBe(true);
  });

  it("answers a check remembered as failed, then the valid one, each by its own outcome", () => {
    const { publicKey, privateKey } = keys();
    const s = spec("2.0.0");
    const sig = signSpec(s, privateKey);
    const forged = { ...sig, signature: Buffer.alloc(64, 7).toString("base64") };
    expect(signatureVerifies(s, forged, publicKey)).toBe(false);
    expect(signatureVerifies(s, forged, publicKey)).toBe(false);
    expect(signatureVerifies(s, sig, publicKey)).toBe(true);
  });

  it("keeps at most VERIFIED_PER_KEY checks per key, and a forgotten one is checked again", () => {
    const { publicKey, privateKey } = keys();
    const first = spec("0.0.0");
    const firstSig = signSpec(first, privateKey);
    expect(signatureVerifies(first, firstSig, publicKey)).toBe(true);
    for (let i = 1; i <= VERIFIED_PER_KEY + 10; i++) {
      const s = spec(`0.0.${i}`);
      expect(signatureVerifies(s, signSpec(s, privateKey), publicKey)).toBe(true);
    }
    expect(rememberedVerifications(publicKey)).toBe(VERIFIED_PER_KEY);
    expect(signatureVerifies(first, firstSig, publicKey)).toBe(true);
    expect(signatureVerifies(spec("9.9.9"), firstSig, publicKey)).toBe(false);
    expect(rememberedVerifications(publicKey)).toBe(VERIFIED_PER_KEY);
  });
});
