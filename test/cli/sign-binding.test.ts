// `modelchain sign` binds each parent's spec digest into the child's signed spec, and
// `lineage-check` fails a child whose parent no longer matches; numbers that JSON parsing
// would change are refused on both sides. Child processes throughout.
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { specDigest, type ModelVersion } from "../../src/api/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
import { SAMPLES } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { runCli } from "./run-cli.ts";

// Each test runs the CLI as a child process, some twice; on a loaded machine one run takes seconds.
const CLI_TIMEOUT_MS = 120_000;
const { dir, remove } = tempDir("modelchain-bind-");
afterAll(() => remove());
const sample = (...parts: string[]) => join(SAMPLES, ...parts);
const DEMO_KEY = sample("keys", "demo-signing.pem");
const DEMO_PUB = sample("keys", "demo-signing.pub.pem");
const demoKey = createPrivateKey(readFileSync(DEMO_KEY));
const read = (file: string) => parse(readFileSync(file, "utf8")) as ModelVersion;
const base = read(sample("base-model.yaml"));

/** The sample child with its parent digests and signatures taken off. */
function unsignedChild(): string {
  const text = readFileSync(sample("fine-tuned.yaml"), "utf8");
  const file = join(dir, "child.yaml");
  writeFileSync(
    file,
    text.replace(/\n {4}specDigest: .*/g, "").replace(/\n {2}signatures:\n(?: {4}.*\n?)*/, "\n"),
  );
  return file;
}

describe("modelchain sign binds parents", { timeout: CLI_TIMEOUT_MS }, () => {
  it("records the parent's spec digest from --parent, and the signed child verifies", () => {
    const out = join(dir, "signed-child.yaml");
    const run = runCli([
      "sign",
      "-f",
      unsignedChild(),
      "--key",
      DEMO_KEY,
      "--parent",
      sample("base-model.yaml"),
      "-o",
      out,
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(read(out).spec.parents).toEqual([{ name: "mistral-7b-base", specDigest: specDigest(base.spec) }]);
    const check = runCli(["lineage-check", "-f", out, sample("base-model.yaml"), "--trust-key", DEMO_PUB]);
    expect(check.status, check.stderr).toBe(0);
  });

  it("refuses to sign a child whose parent manifest is not given, naming the parent", () => {
    const run = runCli(["sign", "-f", unsignedChild(), "--key", DEMO_KEY]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      "parent ml/mistral-7b-base of ml/mistral-7b-support-v2 is not among the given files",
    );
  });

  it("binds a parent signed in the same file", () => {
    const both = join(dir, "both.yaml");
    writeFileSync(
      both,
      `${readFileSync(sample("base-model.yaml"), "utf8")}---\n${readFileSync(unsignedChild(), "utf8")}`,
    );
    const out = join(dir, "both-signed.yaml");
    const run = runCli(["sign", "-f", both, "--key", DEMO_KEY, "-o", out]);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toContain(`specDigest: ${specDigest(base.spec)}`);
    expect(runCli(["lineage-check", "-f", out, "--trust-key", DEMO_PUB]).status).toBe(0);
  });
});

describe(
  "modelchain lineage-check compares parents with the digests the child was signed over",
  { timeout: CLI_TIMEOUT_MS },
  () => {
    it("fails the sample child when its parent is replaced by another trusted-signed ModelVersion", () => {
      const impostor: ModelVersion = structuredClone(base);
      impostor.spec.artifact.digest = `sha256:${"e".repeat(64)}`;
      impostor.spec.signatures = [signSpec(impostor.spec, demoKey)];
      const file = join(dir, "impostor-base.yaml");
      writeFileSync(file, stringify(impostor));
      const run = runCli(["lineage-check", "-f", file, sample("fine-tuned.yaml"), "--trust-key", DEMO_PUB]);
      expect(run.status, run.stdout + run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `parent ml/mistral-7b-base's spec digest is ${specDigest(impostor.spec)}, the child was signed over ${specDigest(base.spec)}`,
      );
    });
  },
);

describe("integers beyond 2^53 in a signed spec", { timeout: CLI_TIMEOUT_MS }, () => {
  const withSize = (size: string) =>
    readFileSync(sample("base-model.yaml"), "utf8").replace(/sizeBytes: \d+/, `sizeBytes: ${size}`);

  it("sign refuses them, naming the field", () => {
    const file = join(dir, "big.yaml");
    writeFileSync(file, withSize("9007199254740993"));
    const run = runCli(["sign", "-f", file, "--key", DEMO_KEY]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain("spec.artifact.sizeBytes");
  });

  it("lineage-check refuses a value whose signature was made over the value JSON parsing yields", () => {
    const big: ModelVersion = structuredClone(base);
    big.spec.artifact.sizeBytes = 2 ** 53;
    big.spec.signatures = [signSpec(big.spec, demoKey)];
    const file = join(dir, "big-signed.yaml");
    writeFileSync(file, stringify(big).replace("9007199254740992", "9007199254740993"));
    const run = runCli(["lineage-check", "-f", file, "--trust-key", DEMO_PUB]);
    expect(run.status, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain("spec.artifact.sizeBytes");
  });
});
