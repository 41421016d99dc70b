// Trust comes only from the policy source: `modelchain check` (--source) and `lineage-check`
// (--policy, --trust-key), as child processes. A ModelTrustPolicy or Namespace inside the files
// being judged never changes the verdict.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { SAMPLES } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { runCli } from "./run-cli.ts";

// Each test runs the CLI as a child process, some twice; on a loaded machine one run takes seconds.
const CLI_TIMEOUT_MS = 120_000;
const { dir, remove } = tempDir("modelchain-trust-");
afterAll(() => remove());
const sample = (...parts: string[]) => join(SAMPLES, ...parts);
const pem = (file: string) => readFileSync(sample("keys", file), "utf8");

/** A policy named like the samples' one, trusting the untrusted key as well as the demo key. */
const impostorPolicy = stringify({
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelTrustPolicy",
  metadata: { name: "ml-models" },
  spec: {
    mode: "enforce",
    trustedKeys: [
      { keyId: "3f583acde33627e63ac0c2bab8d2504e", publicKey: pem("demo-signing.pub.pem") },
      { keyId: "1960ecb41fa14a0fea70865eb2c9d649", publicKey: pem("untrusted.pub.pem") },
    ],
  },
});
const policyFile = join(dir, "impostor-policy.yaml");
writeFileSync(policyFile, impostorPolicy);
const wrongKeyWithPolicy = join(dir, "wrong-key-with-policy.yaml");
writeFileSync(
  wrongKeyWithPolicy,
  `${impostorPolicy}---\n${readFileSync(sample("bad", "wrong-key.yaml"), "utf8")}`,
);

describe("modelchain check takes trust only from --source", { timeout: CLI_TIMEOUT_MS }, () => {
  it("a ModelTrustPolicy in the checked manifest neither replaces nor adds to the source's", () => {
    const run = runCli(["check", "-o", "table", "-f", wrongKeyWithPolicy, "--source", `dir:${SAMPLES}`]);
    expect(run.status, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/DENIED {2}ModelDeployment ml\/chat-wrong-key \(.*\): .*signature failed/);
    expect(run.stdout).toMatch(/WARNED {2}ModelTrustPolicy \S*ml-models .*trust comes only from --source/);
  });

  it("a Namespace in the checked manifest does not relabel the source's namespace", () => {
    const source = join(dir, "labelled-source");
    mkdirSync(source);
    for (const f of ["base-model.yaml", "fine-tuned.yaml"]) copyFileSync(sample(f), join(source, f));
    const policy = readFileSync(sample("trust-policy.yaml"), "utf8").replace(
      /namespaceSelector:[^]*?maxLineageDepth/,
      "namespaceSelector:\n    matchLabels:\n      tier: prod\n  maxLineageDepth",
    );
    writeFileSync(join(source, "trust-policy.yaml"), policy);
    writeFileSync(
      join(source, "namespace.yaml"),
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ml\n  labels:\n    tier: prod\n",
    );
    const manifest = join(dir, "relabel.yaml");
    writeFileSync(
      manifest,
      `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ml\n---\n${readFileSync(sample("bad", "unpinned-image.yaml"), "utf8")}`,
    );
    const run = runCli(["check", "-o", "table", "-f", manifest, "--source", `dir:${source}`]);
    expect(run.status, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /DENIED {2}ModelDeployment ml\/chat-unpinned-image \(.*\): .*imagePinned failed/,
    );
  });
});

describe(
  "modelchain lineage-check takes trust only from --policy and --trust-key",
  { timeout: CLI_TIMEOUT_MS },
  () => {
    it("ignores a ModelTrustPolicy among the files being checked", () => {
      const run = runCli([
        "lineage-check",
        "-f",
        sample("bad", "wrong-key.yaml"),
        sample("base-model.yaml"),
        policyFile,
        "--trust-key",
        sample("keys", "demo-signing.pub.pem"),
      ]);
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toMatch(/ml\/support-wrong-key: .*signed only by untrusted keys/);
      expect(run.stderr).toContain("ModelTrustPolicy ml-models");
    });

    it("takes trusted keys from --policy", () => {
      const files = ["-f", sample("base-model.yaml"), sample("fine-tuned.yaml")];
      const good = runCli(["lineage-check", ...files, "--policy", sample("trust-policy.yaml")]);
      expect(good.status, good.stdout + good.stderr).toBe(0);
      const none = runCli(["lineage-check", ...files, sample("trust-policy.yaml")]);
      expect(none.status, none.stdout + none.stderr).toBe(2);
      expect(none.stderr).toContain("no trusted key: give --trust-key or --policy");
    });
  },
);
