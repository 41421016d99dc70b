// `modelchain reinstate` as a user runs it: the manifest comes back without spec.revoked and
// with a spec.reinstated whose signature verifies for that object and that revocation only.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { ModelVersion } from "../../src/api/index.ts";
import { keyIdOf, verifyReinstatement } from "../../src/lineage/index.ts";
import { SAMPLES } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { runCli } from "./run-cli.ts";

const { dir, remove } = tempDir("modelchain-reinstate-");
afterAll(() => remove());
const keyFile = join(SAMPLES, "keys", "demo-signing.pem");
const publicKey = createPublicKey(createPrivateKey(readFileSync(keyFile)));
const trusted = [
  {
    policy: "p",
    keys: [
      { keyId: keyIdOf(publicKey), publicKey: publicKey.export({ type: "spki", format: "pem" }).toString() },
    ],
  },
];

describe("modelchain reinstate", () => {
  it("removes spec.revoked and writes a reinstatement that lifts exactly the named revocation", () => {
    const file = join(dir, "recalled.yaml");
    const text =
      readFileSync(join(SAMPLES, "bad", "revoked-ancestor.yaml"), "utf8").split("\n---\n")[0] ?? "";
    writeFileSync(file, `# kept as written\n${text}\n`);
    const out = join(dir, "reinstated.yaml");
    const args = [
      "reinstate",
      "-f",
      file,
      "--key",
      keyFile,
      "--revocation",
      "4",
      "--reason",
      "licence restored",
    ];
    const run = runCli([...args, "-o", out]);
    expect(run.status, run.stderr).toBe(0);
    const written = readFileSync(out, "utf8");
    expect(written).toContain("# kept as written");
    const mv = parse(written) as ModelVersion;
    expect(mv.spec.revoked).toBeUndefined();
    expect(mv.spec.reinstated).toMatchObject({ revocationIndex: 4, reason: "licence restored" });
    expect(verifyReinstatement(mv, { index: 4, reason: "r" }, trusted)).toMatchObject({
      ok: true,
      policy: "p",
    });
    expect(verifyReinstatement(mv, { index: 5, reason: "r" }, trusted)).toMatchObject({ ok: false });
    const other = { ...mv, metadata: { ...mv.metadata, name: "another" } };
    expect(verifyReinstatement(other, { index: 4, reason: "r" }, trusted)).toMatchObject({ ok: false });
  }, 120_000);

  it("exits 2 on a file without a ModelVersion", () => {
    const file = join(dir, "none.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    const run = runCli(["reinstate", "-f", file, "--key", keyFile, "--revocation", "1", "--reason", "r"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("no ModelVersion to reinstate");
  }, 120_000);
});
