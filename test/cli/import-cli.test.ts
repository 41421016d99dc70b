// `import mlflow` refuses what it cannot mean before it asks MLflow anything (exit 2, naming the
// flag), and reads an export directory only when it is one.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCliAsync } from "./run-cli.ts";

const NO_SERVER = { MLFLOW_TRACKING_URI: "" };

describe("import mlflow input", () => {
  it.each([
    [["--model", "fraud"], "--model and --version go together"],
    [["--model", "fraud", "--version", "latest"], '--version "latest": MLflow versions are numbers'],
    [["--all", "models:/fraud/1"], "--all imports every version: name none"],
    [["models:/fraud@champion"], "is not pinned to one registered version"],
    [["s3://models/fraud"], "expected models:/<name>/<version> or runs:/<run id>/<path>"],
    [
      ["runs:/0a1b/model"],
      "runs:/<run id>/<path> imports one run artifact, named with --model and --version",
    ],
    [[], "name what to import"],
    [["--all"], "give --tracking-uri (or MLFLOW_TRACKING_URI), or --from an export directory"],
    [["--all", "--tracking-uri", "ftp://mlflow"], "expected http:// or https://"],
    [
      ["--all", "--from", "/nonexistent", "--save", "/tmp/x"],
      "--save writes an export while reading a tracking server",
    ],
  ])("refuses %j, saying %s", async (args, message) => {
    const run = await runCliAsync(["import", "mlflow", ...args], undefined, NO_SERVER);
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
  });

  it("refuses a directory that is not an export", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-not-an-export-"));
    const run = await runCliAsync(["import", "mlflow", "--from", dir, "--all"], undefined, NO_SERVER);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`${dir}: no model-versions/ folder (not an MLflow export directory)`);
  });
});
