// `modelchain artifact fetch` from a real S3-compatible server (moto in server mode, IAM auth
// on) on loopback: a model directory under a prefix, a changed / extra / missing object named,
// a wrong secret refused at once, and a connection cut mid-object resumed with a Range request.
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestDigest, type FileDigest } from "../../src/artifact/index.ts";
import { fileSha256 } from "../../src/artifact/walk.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";
import { startCuttingProxy } from "./cutting-proxy.ts";
import { startMotoBucket, type Moto } from "./moto.ts";

const skip = skipWithoutPythonTool("artifact fetch from S3 (moto)", "s3", "moto_server");

const MODEL: Record<string, Buffer> = {
  "model-00001-of-00002.safetensors": randomBytes(600_000),
  "model-00002-of-00002.safetensors": randomBytes(300_000),
  "config.json": Buffer.from('{"hidden_size": 8}'),
  "tokenizer/vocab.txt": Buffer.from("a\nb\n"),
};

async function manifestOf(files: Record<string, Buffer>): Promise<FileDigest[]> {
  const work = mkdtempSync(join(tmpdir(), "mc-s3-manifest-"));
  return Promise.all(
    Object.entries(files).map(async ([path, bytes]) => {
      const file = join(work, path.replaceAll("/", "_"));
      writeFileSync(file, bytes);
      return { path, sha256: await fileSha256(file) };
    }),
  );
}

describe.skipIf(skip)("artifact fetch from an S3-compatible server", () => {
  let moto: Moto;
  let s3: S3Client;
  let env: NodeJS.ProcessEnv;
  let signed: FileDigest[];
  let digest: string;
  let manifestFile: string;

  beforeAll(async () => {
    ({ moto, s3 } = await startMotoBucket("models"));
    for (const [path, bytes] of Object.entries(MODEL))
      for (const prefix of ["llm", "changed", "extra", "missing"])
        await s3.send(new PutObjectCommand({ Bucket: "models", Key: `${prefix}/${path}`, Body: bytes }));
    await s3.send(
      new PutObjectCommand({ Bucket: "models", Key: "changed/config.json", Body: '{"hidden_size": 9}' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: "models", Key: "extra/notes.txt", Body: "x" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "models", Key: "missing/tokenizer/vocab.txt" }));
    signed = await manifestOf(MODEL);
    digest = manifestDigest(signed);
    manifestFile = join(mkdtempSync(join(tmpdir(), "mc-s3-")), "manifest.json");
    writeFileSync(manifestFile, JSON.stringify({ digest, files: signed }));
    env = {
      AWS_ACCESS_KEY_ID: moto.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
    };
  }, 120_000);
  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  async function fetchTo(
    uri: string,
    extra: string[] = [],
    extraEnv: NodeJS.ProcessEnv = {},
    endpoint = moto.endpoint,
  ) {
    const parent = mkdtempSync(join(tmpdir(), "mc-s3-fetch-"));
    const dest = join(parent, "model");
    const r = await runCliAsync(
      [
        "artifact",
        "fetch",
        "--uri",
        uri,
        "--digest",
        digest,
        "--dest",
        dest,
        "--s3-endpoint",
        endpoint,
        "--retries",
        "3",
        ...extra,
      ],
      undefined,
      { ...env, ...extraEnv },
    );
    return { ...r, parent, dest };
  }

  it("fetches a model directory under a prefix, credentials read from a mounted credentials file", async () => {
    const creds = join(mkdtempSync(join(tmpdir(), "mc-s3-secret-")), "credentials");
    writeFileSync(
      creds,
      `[default]\naws_access_key_id = ${moto.accessKeyId}\naws_secret_access_key = ${moto.secretAccessKey}\n`,
    );
    const r = await fetchTo("s3://models/llm/", [], {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_SHARED_CREDENTIALS_FILE: creds,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const [path, bytes] of Object.entries(MODEL))
      expect(readFileSync(join(r.dest, path)).equals(bytes)).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ digest, files: 4, fetched: true });
  }, 60_000);

  for (const [prefix, named, what] of [
    ["changed", 'file "config.json" has sha256', "one changed object"],
    ["extra", 'extra file "notes.txt"', "an extra object"],
    ["missing", 'missing file "tokenizer/vocab.txt"', "a missing object"],
  ] as const) {
    it(`refuses a directory with ${what}, naming it, with nothing at --dest`, async () => {
      const r = await fetchTo(`s3://models/${prefix}/`, ["--manifest", manifestFile]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`expected ${digest}`);
      expect(r.stderr).toContain(named);
      expect(readdirSync(r.parent)).toEqual([]);
    }, 60_000);
  }

  it("refuses a wrong secret at once, without retrying or printing it", async () => {
    const r = await fetchTo("s3://models/llm/", [], { AWS_SECRET_ACCESS_KEY: "not-the-secret-42" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/403 SignatureDoesNotMatch/);
    expect(r.stderr).not.toContain("retrying");
    expect(r.stderr + r.stdout).not.toContain("not-the-secret-42");
    expect(readdirSync(r.parent)).toEqual([]);
  }, 60_000);

  it("resumes an object by Range after the connection is cut mid-stream", async () => {
    const big = randomBytes(4 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: "models", Key: "big/weights.bin", Body: big }));
    const only = await manifestOf({ "weights.bin": big });
    const proxy = await startCuttingProxy(new URL(moto.endpoint), 1024 * 1024);
    const before = moto.log().length;
    const parent = mkdtempSync(join(tmpdir(), "mc-s3-fetch-"));
    const r = await runCliAsync(
      [
        "artifact",
        "fetch",
        "--uri",
        "s3://models/big/weights.bin",
        "--digest",
        manifestDigest(only),
        "--dest",
        join(parent, "model"),
        "--s3-endpoint",
        proxy.endpoint,
      ],
      undefined,
      env,
    );
    await proxy.close();
    expect(proxy.cuts).toBe(1);
    expect(r.stderr).toContain("retrying");
    expect(r.status).toBe(0);
    expect(readFileSync(join(parent, "model", "weights.bin")).equals(big)).toBe(true);
    expect(moto.log().slice(before)).toMatch(/GET \/models\/big\/weights\.bin[^\n]* 206 /);
  }, 60_000);
});
