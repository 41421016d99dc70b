import { afterAll, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./run-cli.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { SAMPLES } from "../api/samples.ts";

const { dir, remove } = tempDir("modelchain-sign-");
afterAll(() => remove());
const sample = (...parts: string[]) => join(SAMPLES, ...parts);

describe("modelchain keygen, sign and lineage-check", () => {
  it("keygen writes a private key only its owner can read and prints its key id", () => {
    const run = runCli(["keygen", "--out", join(dir, "keys"), "--name", "team"]);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { keyId: string; privateKey: string; publicKey: string };
    expect(out.keyId).toMatch(/^[0-9a-f]{32}$/);
    expect(statSync(out.privateKey).mode & 0o777).toBe(0o600);
    const again = runCli(["keygen", "--out", join(dir, "keys"), "--name", "team"]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/);
  });

  it("sign adds a signature that verifies and keeps every comment and field as written", () => {
    const unsigned = join(dir, "unsigned.yaml");
    copyFileSync(sample("bad", "unsigned.yaml"), unsigned);
    const run = runCli([
      "sign",
      "-f",
      unsigned,
      "--key",
      join(dir, "keys", "team.pem"),
      "--parent",
      sample("base-model.yaml"),
      "-o",
      join(dir, "signed.yaml"),
    ]);
    expect(run.status, run.stderr).toBe(0);
    const before = readFileSync(unsigned, "utf8");
    const after = readFileSync(join(dir, "signed.yaml"), "utf8");
    expect(after.startsWith(before.split("---")[0]?.trimEnd() ?? "")).toBe(true);
    expect(after).toContain('# BAD: fails the "signature" check');
    expect(after).toMatch(/signatures:\n\s+- keyId: [0-9a-f]{32}\n\s+signature: /);
    const check = runCli([
      "lineage-check",
      "-f",
      join(dir, "signed.yaml"),
      sample("base-model.yaml"),
      "--trust-key",
      join(dir, "keys", "team.pub.pem"),
      sample("keys", "demo-signing.pub.pem"),
    ]);
    expect(check.status, check.stderr).toBe(0);
  });

  it("lineage-check exits 0 on the sample chain and 1 naming each failed check on a bad sample", () => {
    const good = runCli([
      "lineage-check",
      "-f",
      sample("base-model.yaml"),
      sample("fine-tuned.yaml"),
      "--trust-key",
      sample("keys", "demo-signing.pub.pem"),
    ]);
    expect(good.status, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toEqual([
      { name: "ml/mistral-7b-base", verified: true, depth: 1, failed: [] },
      { name: "ml/mistral-7b-support-v2", verified: true, depth: 2, failed: [] },
    ]);
    const bad = runCli([
      "lineage-check",
      "-f",
      sample("bad", "revoked-ancestor.yaml"),
      "--policy",
      sample("trust-policy.yaml"),
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/ml\/support-on-recalled: .*ancestor ml\/mistral-7b-base-recalled is revoked/);
    const wrongKey = runCli([
      "lineage-check",
      "-f",
      sample("bad", "wrong-key.yaml"),
      sample("base-model.yaml"),
      "--trust-key",
      sample("keys", "demo-signing.pub.pem"),
    ]);
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stderr).toMatch(/signed only by untrusted keys/);
  });

  it("exits 2 on malformed YAML naming the line, and on input that is not a ModelVersion", () => {
    writeFileSync(
      join(dir, "broken.yaml"),
      "apiVersion: modelchain.io/v1alpha1\nkind: ModelVersion\nmetadata:\n  name: x\n spec: [\n",
    );
    const broken = runCli([
      "lineage-check",
      "-f",
      join(dir, "broken.yaml"),
      "--trust-key",
      sample("keys", "demo-signing.pub.pem"),
    ]);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/broken.yaml: .*line 5/);
    const signBroken = runCli([
      "sign",
      "-f",
      join(dir, "broken.yaml"),
      "--key",
      join(dir, "keys", "team.pem"),
    ]);
    expect(signBroken.status).toBe(2);
    expect(signBroken.stderr).toMatch(/line 5/);
    const invalid = runCli([
      "sign",
      "-f",
      sample("bad", "unpinned-image.yaml"),
      "--key",
      join(dir, "keys", "team.pem"),
    ]);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/no ModelVersion to sign/);
    const notAKey = runCli(["sign", "-f", sample("base-model.yaml"), "--key", sample("trust-policy.yaml")]);
    expect(notAKey.status).toBe(2);
    expect(notAKey.stderr).toMatch(/not an ed25519 private key/);
  });
});
