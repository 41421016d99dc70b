// OMS (OpenSSF Model Signing) bundles written by the real model-signing tool, verified by the
// lineage component: each kind of trust root accepts what it should and refuses, naming why,
// what it should not.
import { X509Certificate } from "node:crypto";
import { appendFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ModelTrustPolicySpec, ModelVersion, Signature, TrustRoot } from "../../src/api/index.ts";
import { modelFiles } from "../../src/artifact/walk.ts";
import { lineagePolicy, verifiedOmsManifest, verifyLineage, type Material } from "../../src/lineage/index.ts";
import {
  directoryDigest,
  ecKey,
  makePki,
  pem,
  signWithCertificate,
  signWithKey,
  trustedRootJson,
  workDir,
  writeModel,
  type KeyPair,
} from "../pytools/model-signing.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";

const skip = skipWithoutPythonTool("OMS bundle verification", "signing", "model_signing");

function modelVersion(digest: string, signatures: Signature[]): ModelVersion {
  return {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelVersion",
    metadata: { name: "m", namespace: "ml" },
    spec: { model: "m", version: "1", artifact: { uri: "s3://b/m", digest }, signatures },
  };
}

const oms = (bundle: string): Signature => ({ type: "oms", bundle });

function signature(
  mv: ModelVersion,
  spec: Partial<ModelTrustPolicySpec>,
  material: Material = () => undefined,
  now?: Date,
) {
  const verdict = verifyLineage(mv, () => undefined, lineagePolicy({ ...spec }), undefined, undefined, {
    material,
    ...(now === undefined ? {} : { now }),
  });
  const check = verdict.checks.find((c) => c.name === "signature");
  if (check === undefined) throw new Error("no signature check");
  return check;
}

function editPayload(bundle: string, edit: (statement: Record<string, unknown>) => void): string {
  const b = JSON.parse(bundle) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, "base64").toString("utf8")) as Record<
    string,
    unknown
  >;
  edit(statement);
  b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
  return JSON.stringify(b);
}

const HOUR = 3600;

describe.skipIf(skip)("OMS bundles signed with a key (model_signing sign key)", () => {
  let work: string;
  let model: string;
  let key: KeyPair;
  let bundle: string;
  let digest: string;
  let roots: TrustRoot[];
  beforeAll(() => {
    work = workDir("oms-key");
    model = join(work, "resnet");
    writeModel(model);
    key = ecKey(work, "producer");
    bundle = signWithKey(model, key);
    digest = directoryDigest(model);
    roots = [{ name: "producer", publicKey: key.publicKeyPem }];
  }, 60_000);

  it("accepts the bundle under the producer's PEM key and reports the model name", () => {
    const check = signature(modelVersion(digest, [oms(bundle)]), { trustRoots: roots });
    expect(check.reason).toContain("signed by trust root producer (public key)");
    expect(check.reason).toContain(`OMS bundle for model "resnet" over ${digest}`);
    expect(check.passed).toBe(true);
  });

  it("accepts a bundle signed with a P-384 key (model-signing hashes it with SHA-384)", () => {
    const p384 = ecKey(work, "p384", "P-384");
    const check = signature(modelVersion(digest, [oms(signWithKey(model, p384))]), {
      trustRoots: [{ name: "p384", publicKey: p384.publicKeyPem }],
    });
    expect(check.reason).toContain("signed by trust root p384 (public key)");
    expect(check.passed).toBe(true);
  }, 60_000);

  it("returns the verified per-file manifest", () => {
    const files = verifiedOmsManifest(bundle, roots, digest, { material: () => undefined, now: new Date() });
    expect([...files.keys()].sort()).toEqual(["config.json", "model.safetensors", "tokenizer/vocab.txt"]);
  });

  it("hands the verified per-file digests to delivery in the verdict, as modelchain computes them", async () => {
    const verdict = verifyLineage(
      modelVersion(digest, [oms(bundle)]),
      () => undefined,
      lineagePolicy({ trustRoots: roots }),
      undefined,
      undefined,
      { material: () => undefined },
    );
    expect(verdict.artifactFiles).toEqual(await modelFiles(model));
    const refused = verifyLineage(
      modelVersion(`sha256:${"0".repeat(64)}`, [oms(bundle)]),
      () => undefined,
      lineagePolicy({ trustRoots: roots }),
      undefined,
      undefined,
      { material: () => undefined },
    );
    expect(refused.artifactFiles).toBeUndefined();
  });

  it.each([
    ["a changed file", (dir: string) => appendFileSync(join(dir, "config.json"), " ")],
    ["a removed file", (dir: string) => rmSync(join(dir, "tokenizer/vocab.txt"))],
    ["an added file", (dir: string) => writeFileSync(join(dir, "extra.bin"), "x")],
  ])(
    "refuses the bundle for the directory with %s, naming both digests",
    (_what, change) => {
      const dir = join(workDir("oms-changed"), "resnet");
      writeModel(dir);
      const signed = signWithKey(dir, key);
      const before = directoryDigest(dir);
      change(dir);
      const after = directoryDigest(dir);
      expect(after).not.toBe(before);
      const check = signature(modelVersion(after, [oms(signed)]), { trustRoots: roots });
      expect(check.passed).toBe(false);
      expect(check.reason).toContain(`it signs ${before}, spec.artifact.digest is ${after}`);
    },
    60_000,
  );

  it("refuses a bundle for another model, with both digests", () => {
    const other = join(work, "bert");
    writeModel(other);
    const check = signature(modelVersion(digest, [oms(signWithKey(other, key))]), { trustRoots: roots });
    expect(check.passed).toBe(false);
    expect(check.reason).toContain(`it signs ${directoryDigest(other)}, spec.artifact.digest is ${digest}`);
  }, 60_000);

  it("refuses a bundle signed by another key, naming the key hint", () => {
    const stranger = ecKey(work, "stranger");
    const check = signature(modelVersion(digest, [oms(signWithKey(model, stranger))]), { trustRoots: roots });
    expect(check.passed).toBe(false);
    expect(check.reason).toMatch(
      /is signed by a key no trust root holds \(key hint [0-9a-f]{64}; publicKey roots producer\)/,
    );
  }, 60_000);

  it("refuses a bundle whose DSSE payload was edited", () => {
    const edited = editPayload(bundle, (s) => {
      (s["subject"] as { name: string }[])[0] = {
        ...(s["subject"] as { name: string }[])[0],
        name: "other",
      } as never;
    });
    const check = signature(modelVersion(digest, [oms(edited)]), { trustRoots: roots });
    expect(check.passed).toBe(false);
    expect(check.reason).toContain(
      "signature does not verify over the DSSE payload with trust root producer's key",
    );
  });

  it.each([
    ["not JSON", () => "{", "(bundle) is not JSON"],
    [
      "without verificationMaterial",
      () => {
        const b = JSON.parse(bundle) as Record<string, unknown>;
        delete b["verificationMaterial"];
        return JSON.stringify(b);
      },
      "verificationMaterial",
    ],
    [
      "with a statement without resources",
      () =>
        editPayload(bundle, (s) => {
          delete (s["predicate"] as Record<string, unknown>)["resources"];
        }),
      "statement.predicate.resources is missing",
    ],
  ])("refuses a bundle %s, naming the field", (_what, make, field) => {
    const check = signature(modelVersion(digest, [oms(make())]), { trustRoots: roots });
    expect(check.passed).toBe(false);
    expect(check.reason).toContain(field);
  });

  it("counts distinct signers: one key does not meet requiredSigners 2", () => {
    const again = oms(signWithKey(model, key));
    const check = signature(modelVersion(digest, [oms(bundle), again]), {
      trustRoots: roots,
      requiredSigners: 2,
    });
    expect(check.passed).toBe(false);
    expect(check.reason).toContain("has 1 of the 2 distinct signers the policy requires");
  }, 60_000);

  it("reads a bundle from a ConfigMap key, and says when it is not known", () => {
    const ref: Signature = { type: "oms", configMapKeyRef: { name: "resnet-sig", key: "model.sig" } };
    const material: Material = (r) =>
      r.kind === "ConfigMap" && r.namespace === "ml" && r.name === "resnet-sig" ? bundle : undefined;
    expect(signature(modelVersion(digest, [ref]), { trustRoots: roots }, material).passed).toBe(true);
    const missing = signature(modelVersion(digest, [ref]), { trustRoots: roots });
    expect(missing.reason).toContain('bundle ConfigMap ml/resnet-sig key "model.sig" is not known');
  });
});

describe.skipIf(skip)("OMS bundles signed with a certificate (model_signing sign certificate)", () => {
  let work: string;
  let model: string;
  let pki: string;
  let digest: string;
  let leafBundle: string;
  let ciBundle: string;
  beforeAll(() => {
    work = workDir("oms-cert");
    model = join(work, "llama");
    writeModel(model);
    digest = directoryDigest(model);
    pki = makePki(work, [
      { name: "root", issuer: null, ca: true, not_before: -HOUR, not_after: 24 * HOUR },
      { name: "inter", issuer: "root", ca: true, not_before: -HOUR, not_after: 24 * HOUR },
      { name: "leaf", issuer: "inter", not_before: -60, not_after: HOUR },
      { name: "expired", issuer: "inter", not_before: -2 * HOUR, not_after: -HOUR },
      { name: "future", issuer: "inter", not_before: HOUR, not_after: 2 * HOUR },
      { name: "other-root", issuer: null, ca: true, not_before: -HOUR, not_after: 24 * HOUR },
      {
        name: "ci",
        issuer: "inter",
        not_before: -60,
        not_after: HOUR,
        email: "ci@example.com",
        oidc_issuer: "https://token.ci.example",
      },
    ]);
    leafBundle = signWithCertificate(model, pki, "leaf", ["inter", "root"]);
    ciBundle = signWithCertificate(model, pki, "ci", ["inter"]);
  }, 60_000);

  const ca = (names: string[]): TrustRoot => ({
    name: "corp-ca",
    certificateAuthority: { certificates: names.map((n) => pem(pki, n)).join("") },
  });

  it("accepts a leaf that chains through the intermediate to the policy's CA", () => {
    const bundle = leafBundle;
    const check = signature(modelVersion(digest, [oms(bundle)]), { trustRoots: [ca(["root", "inter"])] });
    expect(check.reason).toContain("signed by trust root corp-ca: CN=leaf");
    expect(check.passed).toBe(true);
  }, 60_000);

  it("says until when a certificate-based verdict holds, and that a key-based one needs no date", () => {
    const policy = lineagePolicy({ trustRoots: [ca(["root", "inter"])] });
    const verdict = verifyLineage(modelVersion(digest, [oms(leafBundle)]), () => undefined, policy);
    const notAfter = new X509Certificate(pem(pki, "leaf")).validToDate;
    expect(verdict.validUntil?.toISOString()).toBe(notAfter.toISOString());
    const key = ecKey(work, "no-expiry");
    const keyPolicy = lineagePolicy({ trustRoots: [{ name: "k", publicKey: key.publicKeyPem }] });
    const keyVerdict = verifyLineage(
      modelVersion(digest, [oms(signWithKey(model, key))]),
      () => undefined,
      keyPolicy,
    );
    expect(keyVerdict.checks.find((c) => c.name === "signature")?.passed).toBe(true);
    expect(keyVerdict.validUntil).toBeUndefined();
  }, 60_000);

  it("refuses a chain to an untrusted CA", () => {
    const bundle = leafBundle;
    const check = signature(modelVersion(digest, [oms(bundle)]), { trustRoots: [ca(["other-root"])] });
    expect(check.passed).toBe(false);
    expect(check.reason).toContain("does not chain to trust root corp-ca");
  }, 60_000);

  it("refuses an expired and a not-yet-valid certificate, saying which", () => {
    const expired = signature(
      modelVersion(digest, [oms(signWithCertificate(model, pki, "expired", ["inter"]))]),
      {
        trustRoots: [ca(["root", "inter"])],
      },
    );
    expect(expired.reason).toMatch(/signing certificate CN=expired, O=modelchain tests expired at \d{4}-/);
    const future = signature(
      modelVersion(digest, [oms(signWithCertificate(model, pki, "future", ["inter"]))]),
      {
        trustRoots: [ca(["root", "inter"])],
      },
    );
    expect(future.reason).toMatch(
      /signing certificate CN=future, O=modelchain tests is not valid yet \(not before \d{4}-/,
    );
  }, 60_000);

  it("meets requiredSigners 2 with a key and a certificate", () => {
    const key = ecKey(work, "k");
    const sigs = [oms(signWithKey(model, key)), oms(signWithCertificate(model, pki, "leaf", ["inter"]))];
    const roots = [{ name: "k", publicKey: key.publicKeyPem }, ca(["root", "inter"])];
    expect(signature(modelVersion(digest, sigs), { trustRoots: roots, requiredSigners: 2 }).passed).toBe(
      true,
    );
  }, 60_000);

  describe("keyless: a Fulcio-style certificate under a test trusted_root.json", () => {
    const trustedRoot = {
      configMapKeyRef: { namespace: "modelchain-system", name: "sigstore", key: "trusted_root.json" },
    };
    const material = (): Material => (r) =>
      r.name === "sigstore" && r.key === "trusted_root.json"
        ? trustedRootJson([pem(pki, "inter"), pem(pki, "root")])
        : undefined;
    const keyless = (identities: NonNullable<TrustRoot["keyless"]>["identities"]): TrustRoot => ({
      name: "ci",
      keyless: { trustedRoot, identities },
    });

    it.each([
      ["exactly", { issuer: "https://token.ci.example", subject: "ci@example.com" }],
      [
        "by regular expression",
        { issuerRegExp: "https://token\\.ci\\.example", subjectRegExp: ".*@example\\.com" },
      ],
    ])(
      "accepts the identity matched %s",
      (_how, identity) => {
        const bundle = ciBundle;
        const check = signature(
          modelVersion(digest, [oms(bundle)]),
          { trustRoots: [keyless([identity])] },
          material(),
        );
        expect(check.reason).toContain(
          "signed by trust root ci: ci@example.com (issuer https://token.ci.example)",
        );
        expect(check.passed).toBe(true);
      },
      60_000,
    );

    it.each([
      ["another subject", { issuer: "https://token.ci.example", subject: "release@example.com" }],
      ["another issuer", { issuer: "https://accounts.example", subjectRegExp: ".*" }],
      ["a partial regular expression", { issuer: "https://token.ci.example", subjectRegExp: "ci@example" }],
    ])(
      "refuses %s, naming the certificate's identity",
      (_what, identity) => {
        const bundle = ciBundle;
        const check = signature(
          modelVersion(digest, [oms(bundle)]),
          { trustRoots: [keyless([identity])] },
          material(),
        );
        expect(check.passed).toBe(false);
        expect(check.reason).toContain(
          "certificate identity subject ci@example.com issuer https://token.ci.example matches none of trust root ci's identities",
        );
      },
      60_000,
    );

    it("says when the trusted root's ConfigMap is not known", () => {
      const bundle = ciBundle;
      const identity = { issuer: "https://token.ci.example", subject: "ci@example.com" };
      const check = signature(modelVersion(digest, [oms(bundle)]), { trustRoots: [keyless([identity])] });
      expect(check.passed).toBe(false);
      expect(check.reason).toContain(
        'trust root ci trusted root ConfigMap modelchain-system/sigstore key "trusted_root.json" is not known',
      );
    }, 60_000);
  });
});
