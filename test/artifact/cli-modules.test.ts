// What the init containers' processes load. `artifact verify` and `artifact fetch` start without
// the CRD schemas (the api barrel compiles them all at load: ≈ 45 MiB of the process's RSS), and
// `artifact verify` without the fetcher's HTTPS and TLS modules, and neither with the yaml package. The RSS itself is measured in
// bench/artifact-fetch.ts, never asserted here.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { manifestDigest } from "../../src/artifact/manifest.ts";

const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mc-artifact-modules-"));
const hook = join(dir, "hook.mjs");
writeFileSync(
  hook,
  [
    'import { registerHooks } from "node:module";',
    "const loaded = [];",
    "registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });",
    'process.on("exit", () => process.stderr.write(`\\nLOADED ${JSON.stringify(loaded)}\\n`));',
    "",
  ].join("\n"),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function modulesOf(args: string[]): { status: number | null; stderr: string; loaded: string[] } {
  const r = spawnSync(process.execPath, ["--import", hook, bin, ...args], { encoding: "utf8" });
  const line = /\nLOADED (.*)\n/.exec(r.stderr);
  if (line?.[1] === undefined) throw new Error(`no module list; stderr: ${r.stderr}`);
  return { status: r.status, stderr: r.stderr, loaded: JSON.parse(line[1]) as string[] };
}

const heavy = [
  /\/src\/api\/index\.ts$/,
  /\/src\/api\/schemas/,
  /\/node_modules\/ajv\//,
  /@kubernetes/,
  /@aws-sdk/,
  // YAML is read by commands that take manifests; printing JSON does not need it either.
  /\/node_modules\/yaml\//,
];

describe("the artifact command's modules", () => {
  it("verify: its own modules only, no schemas, no HTTPS", () => {
    const file = join(dir, "weights.bin");
    writeFileSync(file, "weights");
    const sha256 = createHash("sha256").update("weights").digest("hex");
    const digest = manifestDigest([{ path: "weights.bin", sha256 }]);
    const run = modulesOf(["artifact", "verify", "--path", file, "--digest", digest]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.loaded).toContainEqual(expect.stringMatching(/\/src\/artifact\/verify\.ts$/));
    for (const pattern of [...heavy, /^node:(https|tls)$/, /\/src\/artifact\/fetch\.ts$/])
      expect(run.loaded.filter((url) => pattern.test(url))).toEqual([]);
  });

  it("fetch: the fetcher when it runs, still no schemas nor the S3 SDK for an https:// URI", () => {
    const digest = `sha256:${"0".repeat(64)}`;
    const run = modulesOf([
      "artifact",
      "fetch",
      "--uri",
      "https://127.0.0.1:1/weights.bin",
      "--digest",
      digest,
      "--dest",
      join(dir, "dest"),
      "--retries",
      "1",
    ]);
    // Nothing listens on port 1: the fetch fails, after loading what a fetch loads.
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain("127.0.0.1:1");
    expect(run.loaded).toContainEqual(expect.stringMatching(/\/src\/artifact\/fetch\.ts$/));
    for (const pattern of heavy) expect(run.loaded.filter((url) => pattern.test(url))).toEqual([]);
  });
});
