// Hostile YAML given to the CLI (as a child process): refused with exit 2, naming the file and the
// line, before the yaml package can spend gigabytes on it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, runCliAsync } from "./run-cli.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { SAMPLES } from "../api/samples.ts";

const { dir, remove } = tempDir("modelchain-hostile-yaml-");
afterAll(() => remove());
const trustKey = join(SAMPLES, "keys", "demo-signing.pub.pem");

/** Nine anchors of nine aliases each: 9^9 strings once expanded, from 400 bytes. */
const BOMB = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  ...["b", "c", "d", "e", "f", "g", "h", "i"].map(
    (name, i) =>
      `${name}: &${name} [${Array(9)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(",")}]`,
  ),
  "",
].join("\n");

const files = {
  bomb: join(dir, "bomb.yaml"),
  huge: join(dir, "huge-string.yaml"),
  dense: join(dir, "dense.yaml"),
  deep: join(dir, "deep.yaml"),
  padded: join(dir, "padded.yaml"),
  stateWithBomb: join(dir, "state"),
};

beforeAll(() => {
  writeFileSync(files.bomb, BOMB);
  // 60 MiB in one double-quoted scalar: 2.3 GiB of RSS in the yaml package before the limits.
  writeFileSync(
    files.huge,
    `apiVersion: v1\nkind: ConfigMap\ndata:\n  blob: "${"x".repeat(60 * 1024 * 1024)}"\n`,
  );
  // Under the byte limit, but a million tokens of one-character list items.
  writeFileSync(files.dense, "- 0\n".repeat(1024 * 1024 - 1));
  writeFileSync(files.deep, `${"[".repeat(100)}${"]".repeat(100)}\n`);
  // A signed sample followed by 5 MiB of comments: legitimate, but over the default 4 MiB.
  const comment = `# ${"padding ".repeat(9)}\n`;
  writeFileSync(
    files.padded,
    readFileSync(join(SAMPLES, "base-model.yaml"), "utf8") +
      comment.repeat(Math.ceil((5 * 1024 * 1024) / comment.length)),
  );
  mkdirSync(files.stateWithBomb);
  copyFileSync(files.bomb, join(files.stateWithBomb, "policies.yaml"));
});

describe("modelchain refuses hostile YAML", () => {
  it("lineage-check refuses an alias bomb with exit 2, naming the file, line and alias", () => {
    const run = runCli(["lineage-check", "-f", files.bomb, "--trust-key", trustKey]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${files.bomb}: document 0, line 5, column 8: aliases expand to more than`);
    expect(run.stderr).toContain("*d");
  });

  it("sign refuses an alias bomb read from standard input, naming it and the line", () => {
    const run = runCli(["sign", "-f", "-", "--key", join(SAMPLES, "keys", "demo-signing.pem")], BOMB);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain("standard input: document 0, line 5");
  });

  it("check refuses an alias bomb in its --source dir:, naming the file and line", () => {
    const manifest = join(SAMPLES, "deployment.yaml");
    const run = runCli(["check", "-f", manifest, "--source", `dir:${files.stateWithBomb}`]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${join(files.stateWithBomb, "policies.yaml")}: document 0, line 5`);
  });

  it("refuses a 60 MiB file before reading it, naming the file, its size and the flag", () => {
    const run = runCli(["lineage-check", "-f", files.huge, "--trust-key", trustKey]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      `${files.huge}: ${statSync(files.huge).size} bytes is over the 4194304-byte input limit (raise it with --max-input-bytes)`,
    );
  });

  it("refuses the 60 MiB single string by its line when the byte limit is raised", () => {
    const run = runCli([
      "--max-input-bytes",
      "100000000",
      "lineage-check",
      "-f",
      files.huge,
      "--trust-key",
      trustKey,
    ]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${files.huge}: line 4: longer than 1048576 characters`);
  });

  it("refuses standard input past the byte limit while reading it", async () => {
    const key = join(SAMPLES, "keys", "demo-signing.pem");
    const run = await runCliAsync(["sign", "-f", "-", "--key", key], "#".repeat(5e6));
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(
      "standard input: more than 4194304 bytes is over the 4194304-byte input limit",
    );
  });

  it("refuses a million tokens under the byte limit, naming the line", () => {
    const run = runCli(["lineage-check", "-f", files.dense, "--trust-key", trustKey]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`${files.dense}: line \\d+: more than 1048576 YAML tokens`));
  });

  it("refuses flow collections nested 100 deep, naming the line", () => {
    const run = runCli(["lineage-check", "-f", files.deep, "--trust-key", trustKey]);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(`${files.deep}: line 1: flow collections nested more than 64 deep`);
  });

  it("refuses a large legitimate file by default, naming the file and its size", () => {
    const refused = runCli(["lineage-check", "-f", files.padded, "--trust-key", trustKey]);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      `${files.padded}: ${statSync(files.padded).size} bytes is over the 4194304`,
    );
  });

  it("reads a large legitimate file once --max-input-bytes allows it", () => {
    const args = [
      "--max-input-bytes",
      "8388608",
      "lineage-check",
      "-f",
      files.padded,
      "--trust-key",
      trustKey,
    ];
    const run = runCli(args);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      expect.objectContaining({ name: "ml/mistral-7b-base", verified: true }),
    ]);
  });
});
