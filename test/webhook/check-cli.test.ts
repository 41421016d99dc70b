// `modelchain check` as a CI job runs it: exit 0 admitted, 1 denied with reasons, 2 bad input.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "mc-check-cli-"));
const state = join(dir, "state");
writeFileSync(
  join(dir, "tagged.yaml"),
  "apiVersion: modelchain.io/v1alpha1\nkind: ModelDeployment\nmetadata: {name: serve, namespace: ml}\nspec: {modelVersion: child, image: 'registry.example/serve:1.0'}\n",
);
writeFileSync(join(dir, "broken.yaml"), "kind: ModelDeployment\nmetadata: [unclosed\n");
const emptyState = mkdtempSync(join(tmpdir(), "mc-check-state-"));
const publicKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
const policy = {
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelTrustPolicy",
  metadata: { name: "all" },
  spec: { mode: "enforce", trustedKeys: [{ keyId: "k", publicKey }] },
};
writeFileSync(join(emptyState, "policy.yaml"), JSON.stringify(policy));

const samples = join(import.meta.dirname, "..", "..", "samples");

describe("modelchain check", () => {
  it("exits 0 for the signed sample chain's ModelDeployment", () => {
    const run = runCli([
      "check",
      "-o",
      "table",
      "-f",
      join(samples, "deployment.yaml"),
      "--source",
      `dir:${samples}`,
    ]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain("ALLOWED ModelDeployment ml/support-chat");
  });

  it("exits 1 for an unsigned sample, naming the failed check", () => {
    const run = runCli([
      "check",
      "-o",
      "table",
      "-f",
      join(samples, "bad", "unsigned.yaml"),
      "--source",
      `dir:${samples}`,
    ]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("signature failed");
  });

  it("exits 1 and names the unpinned image", () => {
    const run = runCli([
      "check",
      "-o",
      "table",
      "-f",
      join(dir, "tagged.yaml"),
      "--source",
      `dir:${emptyState}`,
    ]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toContain("DENIED  ModelDeployment ml/serve");
    expect(run.stdout).toContain("imagePinned failed");
    expect(run.stdout).toContain("registry.example/serve:1.0");
  });

  it("prints JSON results with -o json", () => {
    const run = runCli([
      "check",
      "-f",
      join(dir, "tagged.yaml"),
      "--source",
      `dir:${emptyState}`,
      "-o",
      "json",
    ]);
    expect(run.status).toBe(1);
    const results: unknown = JSON.parse(run.stdout);
    expect(results).toEqual([
      expect.objectContaining({ kind: "ModelDeployment", allowed: false, reason: "image-not-pinned" }),
    ]);
  });

  const bad = [
    {
      name: "a manifest that does not exist",
      args: ["-f", join(dir, "absent.yaml"), "--source", `dir:${emptyState}`],
      says: "absent.yaml",
    },
    {
      name: "malformed YAML, naming the file",
      args: ["-f", join(dir, "broken.yaml"), "--source", `dir:${emptyState}`],
      says: "broken.yaml",
    },
    {
      name: "a source that is not dir:PATH",
      args: ["-f", join(dir, "tagged.yaml"), "--source", "kube"],
      says: "dir:PATH",
    },
    {
      name: "a source directory that does not exist",
      args: ["-f", join(dir, "tagged.yaml"), "--source", `dir:${state}`],
      says: "state",
    },
  ];
  for (const b of bad) {
    it(`exits 2 on ${b.name}`, () => {
      const run = runCli(["check", ...b.args]);
      expect(run.status, run.stdout + run.stderr).toBe(2);
      expect(run.stderr).toContain(b.says);
    });
  }
});
