// `modelchain sign` over numeric and boolean training parameters, and its refusal of plain scalars
// that kubectl (YAML 1.1) would send the API server as another value than the one signed.
import { afterAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { runCli } from "./run-cli.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { SAMPLES } from "../api/samples.ts";
import { yaml11Reading } from "../../src/cli/yaml-readings.ts";

const { dir, remove } = tempDir("modelchain-sign-parameters-");
afterAll(() => remove());
const key = join(SAMPLES, "keys", "demo-signing.pem");

/** samples/base-model.yaml unsigned, with these parameter lines. */
function modelFile(name: string, parameterLines: string[]): string {
  const text = readFileSync(join(SAMPLES, "base-model.yaml"), "utf8")
    .replace(
      / {4}parameters:\n( {6}.*\n)+/,
      `    parameters:\n${parameterLines.map((l) => `      ${l}\n`).join("")}`,
    )
    .replace(/ {2}signatures:\n[\s\S]*$/, "");
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe("modelchain sign and training parameters", () => {
  it("signs numbers and booleans as written, and lineage-check verifies the result", () => {
    const file = modelFile("numeric.yaml", [
      "learningRate: 3e-4",
      "epochs: 3",
      "bf16: true",
      "optimizer: adamw",
    ]);
    const run = runCli(["sign", "-f", file, "--key", key, "-o", join(dir, "numeric.signed.yaml")]);
    expect(run.status, run.stderr).toBe(0);
    const signed = readFileSync(join(dir, "numeric.signed.yaml"), "utf8");
    expect(signed).toContain("learningRate: 3e-4");
    const parameters = (parse(signed) as { spec: { training: { parameters: unknown } } }).spec.training
      .parameters;
    expect(parameters).toEqual({ learningRate: 0.0003, epochs: 3, bf16: true, optimizer: "adamw" });
    const check = runCli([
      "lineage-check",
      "-f",
      join(dir, "numeric.signed.yaml"),
      "--trust-key",
      join(SAMPLES, "keys", "demo-signing.pub.pem"),
    ]);
    expect(check.status, check.stderr).toBe(0);
  });

  it("refuses plain scalars kubectl reads otherwise, naming each field and what to write", () => {
    const file = modelFile("ambiguous.yaml", ["shuffle: on", "epochs: 010", "steps: 1_000", 'quoted: "on"']);
    const run = runCli(["sign", "-f", file, "--key", key]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      'spec.training.parameters.shuffle: kubectl reads on as true (YAML 1.1), modelchain as "on" (YAML 1.2), so a signature could not verify; quote it ("on") or write true',
    );
    expect(run.stderr).toContain("spec.training.parameters.epochs: kubectl reads 010 as 8");
    expect(run.stderr).toContain("spec.training.parameters.steps: kubectl reads 1_000 as 1000");
    expect(run.stderr).not.toContain("parameters.quoted");
  });

  it.each<[string, boolean | number | undefined]>([
    ["yes", true],
    ["Off", false],
    ["n", false],
    ["0777", 511],
    ["-010", -8],
    ["0b1_01", 5],
    ["0x1_F", 31],
    ["0b101", 5],
    ["-0x1F", -31],
    ["+0o17", 15],
    ["0x1F", undefined],
    ["08", undefined],
    ["true", undefined],
    ["3e-4", undefined],
    ["12:30", undefined],
    ["0o17", undefined],
  ])("reads %s as kubectl does where YAML 1.2 differs: %s", (source, want) => {
    expect(yaml11Reading(source)).toBe(want);
  });
});
