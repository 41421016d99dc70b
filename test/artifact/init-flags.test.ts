// The artifact commands as the init container runs them: the bundled CLI (as the image has it),
// node with the init container's flags on its command line and its NODE_OPTIONS, on a real HTTPS
// server and a real S3-compatible one. V8 runs without its optimising compilers there; what the
// fetch path loads (the S3 SDK's chunks among them) must work, and fail clearly, that way.
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundle } from "../../scripts/build.ts";
import { ARTIFACT_NODE_FLAGS, ARTIFACT_NODE_OPTIONS } from "../../src/controller/artifact-pod.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { startHttpsStore, type HttpsStore } from "./https-store.ts";
import { startMotoBucket, type Moto } from "./moto.ts";

const root = join(import.meta.dirname, "..", "..");
const skip = !hasOpenssl();
if (skip) console.log("SKIP the init container's flags: no openssl CLI to make the server's certificate");
const skipS3 = skipWithoutPythonTool("the init container's flags against S3 (moto)", "s3", "moto_server");

const weights = randomBytes(2 * 1024 * 1024 + 5);
/** The artifact digest of one file: model-signing's manifest digest of a single entry. */
const digest = `sha256:${createHash("sha256")
  .update(createHash("sha256").update(weights).digest())
  .digest("hex")}`;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(skip)("the artifact commands as the init container runs them", () => {
  let dist: string;
  let store: HttpsStore;
  let caFile: string;

  /** `fileLimitKiB`: the largest file the process may write (ulimit -f), a disk that fills up. */
  function cli(args: string[], env: NodeJS.ProcessEnv = {}, fileLimitKiB?: number): Promise<Run> {
    const command = [process.execPath, ...ARTIFACT_NODE_FLAGS, join(dist, "cli", "bin.js"), ...args];
    const [exe, argv] =
      fileLimitKiB === undefined
        ? [process.execPath, command.slice(1)]
        : ["bash", ["-c", `ulimit -f ${fileLimitKiB} && exec "$@"`, "bash", ...command]];
    return new Promise((resolve, reject) => {
      const child = spawn(exe, argv, {
        env: { ...process.env, NODE_OPTIONS: ARTIFACT_NODE_OPTIONS, NODE_EXTRA_CA_CERTS: caFile, ...env },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    // Inside the project, so the bundle resolves what it loads by name from node_modules.
    mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
    dist = mkdtempSync(join(root, "node_modules", ".cache", "init-flags-"));
    await bundle(dist);
    const tls = certDir();
    caFile = tls.certFile;
    store = await startHttpsStore(tls.certFile, tls.keyFile);
    store.put("/weights.bin", { bytes: weights });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    if (dist !== undefined) rmSync(dist, { recursive: true, force: true });
  });

  it("fetches over HTTPS and verifies what it fetched; a wrong digest exits 1 naming both", async () => {
    const parent = mkdtempSync(join(tmpdir(), "mc-init-flags-"));
    const dest = join(parent, "model");
    const ok = await cli([
      "artifact",
      "fetch",
      "--uri",
      store.url("/weights.bin"),
      "--digest",
      digest,
      "--dest",
      dest,
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(readFileSync(join(dest, "weights.bin")).equals(weights)).toBe(true);
    const verified = await cli(["artifact", "verify", "--path", dest, "--digest", digest]);
    expect(verified.status, verified.stderr).toBe(0);

    const wrong = `sha256:${"0".repeat(64)}`;
    const refused = await cli([
      "artifact",
      "fetch",
      "--uri",
      store.url("/weights.bin"),
      "--digest",
      wrong,
      "--dest",
      join(parent, "other"),
    ]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(wrong);
    expect(refused.stderr).toContain(digest);
    rmSync(parent, { recursive: true, force: true });
  });

  it("a disk that refuses the bytes: exit 1 naming the write, not retried, nothing at --dest", async () => {
    const parent = mkdtempSync(join(tmpdir(), "mc-init-flags-full-"));
    const dest = join(parent, "model");
    // Files over 1 MiB refused with EFBIG (Node ignores SIGXFSZ), as a full emptyDir refuses them.
    const run = await cli(
      ["artifact", "fetch", "--uri", store.url("/weights.bin"), "--digest", digest, "--dest", dest],
      {},
      1024,
    );
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/writing the fetched bytes: EFBIG/);
    expect(run.stderr).not.toMatch(/retry/i);
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
    rmSync(parent, { recursive: true, force: true });
  });

  describe.skipIf(skipS3)("from S3", () => {
    let moto: Moto;
    let s3: S3Client;

    beforeAll(async () => {
      ({ moto, s3 } = await startMotoBucket("models"));
      await s3.send(new PutObjectCommand({ Bucket: "models", Key: "llm/weights.bin", Body: weights }));
    }, 120_000);
    afterAll(async () => {
      s3?.destroy();
      await moto?.stop();
    });

    it("fetches an object through the S3 SDK", async () => {
      const parent = mkdtempSync(join(tmpdir(), "mc-init-flags-s3-"));
      const dest = join(parent, "model");
      const run = await cli(
        [
          "artifact",
          "fetch",
          "--uri",
          "s3://models/llm/weights.bin",
          "--digest",
          digest,
          "--dest",
          dest,
          "--s3-endpoint",
          moto.endpoint,
        ],
        {
          AWS_ACCESS_KEY_ID: moto.accessKeyId,
          AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
          AWS_REGION: "us-east-1",
          AWS_EC2_METADATA_DISABLED: "true",
        },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(join(dest, "weights.bin")).equals(weights)).toBe(true);
      rmSync(parent, { recursive: true, force: true });
    });
  });
});
