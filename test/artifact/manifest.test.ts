// The directory digest rule against the real model-signing tool: for generated model
// directories, modelchain's manifest digest must equal the subject digest model-signing signs.
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { firstDifference, manifestDigest, type FileDigest } from "../../src/artifact/manifest.ts";
import { modelFiles } from "../../src/artifact/walk.ts";
import { pythonTool, skipWithoutPythonTool } from "../pytools/tools.ts";

const skip = skipWithoutPythonTool("directory digest vectors", "signing", "model_signing");

function writeModel(root: string, files: Record<string, Buffer>): FileDigest[] {
  return Object.entries(files).map(([path, bytes]) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
    return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
  });
}

function signedSubject(model: string, work: string): string {
  const tool = pythonTool("signing", "model_signing");
  if ("missing" in tool) throw new Error(tool.missing);
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  });
  writeFileSync(join(work, "key.pem"), key);
  const sig = join(work, "model.sig");
  execFileSync(tool.bin, ["sign", "key", model, "--private_key", join(work, "key.pem"), "--signature", sig]);
  const bundle = JSON.parse(readFileSync(sig, "utf8")) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as {
    subject: { digest: { sha256: string } }[];
  };
  return `sha256:${statement.subject[0]!.digest.sha256}`;
}

describe.skipIf(skip)("directory digest = model-signing's subject digest", () => {
  const shapes: Record<string, Record<string, Buffer>> = {
    "safetensors shards": {
      "model-00001-of-00002.safetensors": randomBytes(70_000),
      "model-00002-of-00002.safetensors": randomBytes(30_000),
      "config.json": Buffer.from('{"hidden_size": 8}'),
      "tokenizer/vocab.txt": Buffer.from("a\nb\n"),
    },
    "names that sort differently by byte and by case": {
      "B.bin": randomBytes(10),
      "a.bin": randomBytes(10),
      "a/b.bin": randomBytes(10),
      "a-b.bin": Buffer.alloc(0),
      "ünï.txt": randomBytes(5),
    },
  };
  for (const [shape, files] of Object.entries(shapes)) {
    it(
      shape,
      async () => {
        const work = mkdtempSync(join(tmpdir(), "mc-dirdigest-"));
        const model = join(work, "model");
        const digests = writeModel(model, files);
        const subject = signedSubject(model, work);
        expect(manifestDigest(digests)).toBe(subject);
        expect(manifestDigest(await modelFiles(model))).toBe(subject);
      },
      60_000,
    );
  }

  it("a directory with model-signing's ignored paths and an empty folder: the walker leaves out what it does", async () => {
    const work = mkdtempSync(join(tmpdir(), "mc-dirdigest-"));
    const model = join(work, "model");
    writeModel(model, {
      "weights.bin": randomBytes(1000),
      ".git/HEAD": Buffer.from("ref: main"),
      ".gitattributes": Buffer.from("*.bin lfs"),
      "sub/.gitignore": Buffer.from("x"),
    });
    mkdirSync(join(model, "empty"));
    expect(manifestDigest(await modelFiles(model))).toBe(signedSubject(model, work));
  }, 60_000);

  // One rule for a single object too: model-signing over one file signs the manifest digest of
  // its one entry, SHA-256(SHA-256(bytes)), not the file's plain SHA-256.
  it("a single file: the manifest digest of one entry", async () => {
    const work = mkdtempSync(join(tmpdir(), "mc-dirdigest-"));
    const file = join(work, "model.gguf");
    const bytes = randomBytes(50_000);
    writeFileSync(file, bytes);
    const plain = createHash("sha256").update(bytes).digest();
    const subject = signedSubject(file, work);
    expect(manifestDigest(await modelFiles(file))).toBe(subject);
    expect(subject).toBe(`sha256:${createHash("sha256").update(plain).digest("hex")}`);
  }, 60_000);
});

describe("firstDifference", () => {
  const a = { path: "a", sha256: "1".repeat(64) };
  const b = { path: "b", sha256: "2".repeat(64) };
  it("names a changed, a missing and an extra file", () => {
    expect(firstDifference([a, b], [a, { ...b, sha256: "3".repeat(64) }])).toEqual({
      path: "b",
      expected: b.sha256,
      actual: "3".repeat(64),
    });
    expect(firstDifference([a, b], [b])).toEqual({ path: "a", expected: a.sha256 });
    expect(firstDifference([b], [a, b])).toEqual({ path: "a", actual: a.sha256 });
    expect(firstDifference([a, b], [b, a])).toBeUndefined();
  });
});
