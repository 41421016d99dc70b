// OMS bundles from the real model-signing tool through the CLI as a user runs it in CI:
// `modelchain lineage-check` and `modelchain check`, offline, as child processes.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
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
} from "../pytools/model-signing.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";
import { runCli } from "./run-cli.ts";

const skip = skipWithoutPythonTool("OMS bundles through the CLI", "signing", "model_signing");
const CLI_TIMEOUT_MS = 120_000;

function modelVersion(
  name: string,
  digest: string,
  signature: Record<string, unknown>,
): Record<string, unknown> {
  return {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelVersion",
    metadata: { name, namespace: "ml" },
    spec: {
      model: name,
      version: "1",
      artifact: { uri: `s3://models/${name}`, digest },
      signatures: [signature],
    },
  };
}

const yaml = (...docs: unknown[]): string => docs.map((d) => stringify(d)).join("---\n");

describe.skipIf(skip)("OMS bundles through the CLI", { timeout: CLI_TIMEOUT_MS }, () => {
  let work: string;
  let digest: string;
  let bundle: string;
  let tampered: string;
  let keyFile: string;
  let pki: string;
  beforeAll(() => {
    work = workDir("oms-cli");
    const model = join(work, "resnet");
    writeModel(model);
    const key = ecKey(work, "producer");
    keyFile = join(work, "producer.pub.pem");
    writeFileSync(keyFile, key.publicKeyPem);
    bundle = signWithKey(model, key);
    digest = directoryDigest(model);
    appendFileSync(join(model, "config.json"), " ");
    tampered = directoryDigest(model);
    pki = makePki(work, [
      { name: "root", issuer: null, ca: true, not_before: -3600, not_after: 86_400 },
      {
        name: "ci",
        issuer: "root",
        not_before: -60,
        not_after: 3600,
        uri: "https://ci.example/pipelines/7",
        oidc_issuer: "https://token.ci.example",
      },
    ]);
  }, 60_000);

  it("lineage-check accepts a key-signed bundle under --trust-key and refuses it for a changed directory", () => {
    const good = join(work, "good.yaml");
    writeFileSync(good, yaml(modelVersion("resnet", digest, { type: "oms", bundle })));
    const ok = runCli(["lineage-check", "-f", good, "--trust-key", keyFile]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const bad = join(work, "changed.yaml");
    writeFileSync(bad, yaml(modelVersion("resnet", tampered, { type: "oms", bundle })));
    const refused = runCli(["lineage-check", "-f", bad, "--trust-key", keyFile]);
    expect(refused.status, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(`it signs ${digest}, spec.artifact.digest is ${tampered}`);
  });

  it("lineage-check verifies a keyless bundle from a ConfigMap, its trusted root only from --policy", () => {
    const model = join(work, "resnet-ci");
    writeModel(model);
    const ciBundle = signWithCertificate(model, pki, "ci", ["root"]);
    const configMap = (ns: string, name: string, data: Record<string, string>) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns },
      data,
    });
    const trustedRoot = configMap("modelchain-system", "sigstore", {
      "trusted_root.json": trustedRootJson([pem(pki, "root")]),
    });
    const policy = {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelTrustPolicy",
      metadata: { name: "ci" },
      spec: {
        trustRoots: [
          {
            name: "ci",
            keyless: {
              trustedRoot: {
                configMapKeyRef: {
                  namespace: "modelchain-system",
                  name: "sigstore",
                  key: "trusted_root.json",
                },
              },
              identities: [
                {
                  issuer: "https://token.ci.example",
                  subjectRegExp: "https://ci\\.example/pipelines/[0-9]+",
                },
              ],
            },
          },
        ],
      },
    };
    const policyFile = join(work, "policy.yaml");
    writeFileSync(policyFile, yaml(policy, trustedRoot));
    const mvFile = join(work, "ci.yaml");
    const ref = { type: "oms", configMapKeyRef: { name: "resnet-ci-sig", key: "model.sig" } };
    writeFileSync(
      mvFile,
      yaml(
        modelVersion("resnet-ci", directoryDigest(model), ref),
        configMap("ml", "resnet-ci-sig", { "model.sig": ciBundle }),
      ),
    );
    const ok = runCli(["lineage-check", "-f", mvFile, "--policy", policyFile]);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // The same trusted root brought by the checked files instead of --policy is not believed.
    const onlyPolicy = join(work, "policy-without-root.yaml");
    writeFileSync(onlyPolicy, yaml(policy));
    const withRoot = join(work, "ci-with-root.yaml");
    writeFileSync(withRoot, `${readText(mvFile)}---\n${yaml(trustedRoot)}`);
    const refused = runCli(["lineage-check", "-f", withRoot, "--policy", onlyPolicy]);
    expect(refused.status, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      'trusted root ConfigMap modelchain-system/sigstore key "trusted_root.json" is not known',
    );
  });

  it("check admits a ModelDeployment of an OMS-signed ModelVersion and denies it when the bundle was tampered with", () => {
    const source = join(work, "source");
    mkdirSync(source);
    const policy = {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelTrustPolicy",
      metadata: { name: "producer" },
      spec: { trustRoots: [{ name: "producer", publicKey: readText(keyFile) }] },
    };
    const b = JSON.parse(bundle) as { dsseEnvelope: { signatures: { sig: string }[] } };
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]?.sig ?? "", "base64");
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
    b.dsseEnvelope.signatures = [{ ...b.dsseEnvelope.signatures[0], sig: sig.toString("base64") }];
    writeFileSync(
      join(source, "trust.yaml"),
      yaml(
        policy,
        modelVersion("resnet", digest, { type: "oms", bundle }),
        modelVersion("resnet-bad", digest, { type: "oms", bundle: JSON.stringify(b) }),
        modelVersion("resnet-ref", digest, {
          type: "oms",
          secretKeyRef: { name: "resnet-sig", key: "model.sig" },
        }),
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "resnet-sig", namespace: "ml" },
          data: { "model.sig": Buffer.from(bundle).toString("base64") },
        },
      ),
    );
    const deployment = (name: string, mv: string) => ({
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelDeployment",
      metadata: { name, namespace: "ml" },
      spec: { modelVersion: mv, image: `registry.example/serve@sha256:${"a".repeat(64)}` },
    });
    const manifest = join(work, "deployments.yaml");
    writeFileSync(
      manifest,
      yaml(deployment("good", "resnet"), deployment("bad", "resnet-bad"), deployment("ref", "resnet-ref")),
    );
    const run = runCli(["check", "-f", manifest, "--source", `dir:${source}`, "-o", "table"]);
    expect(run.status, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/ALLOWED ModelDeployment ml\/good/);
    expect(run.stdout).toMatch(/ALLOWED ModelDeployment ml\/ref/);
    expect(run.stdout).toMatch(
      /DENIED {2}ModelDeployment ml\/bad .*signature failed: .*signature does not verify over the DSSE payload with trust root producer's key/,
    );
  });
});

function readText(path: string): string {
  return readFileSync(path, "utf8");
}
