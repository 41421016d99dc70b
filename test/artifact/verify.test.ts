// Verifying a model directory on disk: one changed, one extra, one missing file each fail with
// both digests and, given the signed per-file manifest, the first differing file's name.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ArtifactDigestMismatch,
  ArtifactManifestMismatch,
  ArtifactWalkFailed,
  modelFiles,
  manifestDigest,
  verifyDirectory,
  type FileDigest,
} from "../../src/artifact/index.ts";
import { runCliAsync } from "../cli/run-cli.ts";

function makeModel(): string {
  const root = mkdtempSync(join(tmpdir(), "mc-verify-"));
  const model = join(root, "model");
  mkdirSync(join(model, "tokenizer"), { recursive: true });
  writeFileSync(join(model, "model-00001-of-00002.safetensors"), randomBytes(40_000));
  writeFileSync(join(model, "model-00002-of-00002.safetensors"), randomBytes(20_000));
  writeFileSync(join(model, "config.json"), '{"hidden_size": 8}');
  writeFileSync(join(model, "tokenizer", "vocab.txt"), "a\nb\n");
  return model;
}

async function mismatch(run: Promise<unknown>): Promise<ArtifactDigestMismatch> {
  const e: unknown = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ArtifactDigestMismatch);
  return e as ArtifactDigestMismatch;
}

describe("verifyDirectory", () => {
  let model: string;
  let signed: FileDigest[];
  let digest: string;
  beforeEach(async () => {
    model = makeModel();
    signed = await modelFiles(model);
    digest = manifestDigest(signed);
  });

  it("passes the directory it was computed over", async () => {
    await expect(verifyDirectory(model, digest, signed)).resolves.toMatchObject({ digest });
  });

  it("names the one changed file", async () => {
    writeFileSync(join(model, "tokenizer", "vocab.txt"), "a\nc\n");
    const e = await mismatch(verifyDirectory(model, digest, signed));
    expect(e.expected).toBe(digest);
    expect(e.actual).not.toBe(digest);
    expect(e.message).toContain(`expected ${digest}`);
    expect(e.message).toContain('file "tokenizer/vocab.txt" has sha256');
  });

  it("names an extra file", async () => {
    writeFileSync(join(model, "added.bin"), "x");
    const e = await mismatch(verifyDirectory(model, digest, signed));
    expect(e.message).toContain('extra file "added.bin"');
  });

  it("names a missing file", async () => {
    rmSync(join(model, "config.json"));
    const e = await mismatch(verifyDirectory(model, digest, signed));
    expect(e.message).toContain('missing file "config.json"');
  });

  it("without a manifest names both digests only", async () => {
    writeFileSync(join(model, "added.bin"), "x");
    const e = await mismatch(verifyDirectory(model, digest));
    expect(e.difference).toBeUndefined();
    expect(e.message).toMatch(/digest sha256:[0-9a-f]{64}, expected sha256:/);
  });

  it("refuses a manifest that does not add up to the expected digest", async () => {
    const forged = signed.map((f, i) => (i === 0 ? { ...f, sha256: "0".repeat(64) } : f));
    await expect(verifyDirectory(model, digest, forged)).rejects.toBeInstanceOf(ArtifactManifestMismatch);
  });

  it("refuses a symbolic link inside the model, as model-signing does", async () => {
    symlinkSync("config.json", join(model, "link.json"));
    await expect(verifyDirectory(model, digest)).rejects.toThrow(ArtifactWalkFailed);
    await expect(verifyDirectory(model, digest)).rejects.toThrow(/"link\.json" is a symbolic link/);
  });

  it("leaves out model-signing's ignored paths and empty directories", async () => {
    mkdirSync(join(model, ".git", "objects"), { recursive: true });
    writeFileSync(join(model, ".git", "HEAD"), "ref");
    writeFileSync(join(model, ".gitattributes"), "*.bin lfs");
    mkdirSync(join(model, "empty"));
    await expect(verifyDirectory(model, digest, signed)).resolves.toMatchObject({ digest });
  });
});

describe("modelchain artifact verify", () => {
  it("exits 0 for the signed directory and 1 naming the changed file for a tampered one", async () => {
    const model = makeModel();
    const printed = await runCliAsync(["artifact", "digest", "--path", model]);
    expect(printed.status).toBe(0);
    const { digest } = JSON.parse(printed.stdout) as { digest: string };
    const manifest = join(model, "..", "manifest.json");
    writeFileSync(manifest, printed.stdout);
    const ok = await runCliAsync([
      "artifact",
      "verify",
      "--path",
      model,
      "--digest",
      digest,
      "--manifest",
      manifest,
    ]);
    expect(ok.status).toBe(0);
    writeFileSync(join(model, "model-00002-of-00002.safetensors"), randomBytes(20_000));
    const log = join(model, "..", "termination-log");
    const bad = await runCliAsync([
      "artifact",
      "verify",
      "--path",
      model,
      "--digest",
      digest,
      "--manifest",
      manifest,
      "--termination-message-path",
      log,
    ]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`expected ${digest}`);
    expect(bad.stderr).toContain('"model-00002-of-00002.safetensors"');
    expect(JSON.parse(readFileSync(log, "utf8"))).toMatchObject({
      outcome: "Failed",
      expected: digest,
      file: "model-00002-of-00002.safetensors",
    });
  }, 120_000);
});
