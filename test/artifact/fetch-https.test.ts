// `modelchain artifact fetch` as a child process against a real HTTPS server on loopback: the
// artifact lands at --dest only when its digest is the signed one, and every failure is a clear
// error with nothing left at the destination.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliAsync } from "../cli/run-cli.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { startHttpsStore, type HttpsStore } from "./https-store.ts";

const skip = !hasOpenssl();
if (skip) console.log("SKIP artifact fetch over HTTPS: no openssl CLI to make the server's certificate");

/** The artifact digest of a single file: model-signing's manifest digest of one entry. */
function singleFileDigest(bytes: Buffer): string {
  const file = createHash("sha256").update(bytes).digest();
  return `sha256:${createHash("sha256").update(file).digest("hex")}`;
}

describe.skipIf(skip)("artifact fetch over HTTPS", () => {
  let store: HttpsStore;
  let env: NodeJS.ProcessEnv;
  const weights = randomBytes(3 * 1024 * 1024 + 17);
  const digest = singleFileDigest(weights);

  beforeAll(async () => {
    const tls = certDir();
    store = await startHttpsStore(tls.certFile, tls.keyFile);
    env = { NODE_EXTRA_CA_CERTS: tls.certFile, HF_TOKEN: "", MODELCHAIN_ARTIFACT_TOKEN: "" };
  });
  afterAll(() => store?.close());

  function fetchTo(uri: string, expected: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) {
    const parent = mkdtempSync(join(tmpdir(), "mc-fetch-"));
    const dest = join(parent, "model");
    const message = join(parent, "termination-log");
    const run = runCliAsync(
      [
        "artifact",
        "fetch",
        "--uri",
        uri,
        "--digest",
        expected,
        "--dest",
        dest,
        "--retries",
        "3",
        "--termination-message-path",
        message,
        ...extra,
      ],
      undefined,
      { ...env, ...extraEnv },
    );
    return run.then((r) => ({
      ...r,
      parent,
      dest,
      message: () => JSON.parse(readFileSync(message, "utf8")) as Record<string, unknown>,
    }));
  }

  /** Nothing at the destination and no partial download beside it. */
  function expectNothingLeft(parent: string): void {
    expect(readdirSync(parent).filter((n) => n !== "termination-log")).toEqual([]);
  }

  it("fetches a file into --dest when its digest matches, and says so in the termination message", async () => {
    store.put("/ok/model.safetensors", { bytes: weights });
    const r = await fetchTo(store.url("/ok/model.safetensors"), digest);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.dest, "model.safetensors")).equals(weights)).toBe(true);
    expect(r.message()).toMatchObject({ outcome: "Verified", expected: digest, actual: digest });
    expect(readdirSync(r.parent).sort()).toEqual(["model", "termination-log"]);
  }, 60_000);

  it("refuses a tampered object naming both digests, and leaves nothing at --dest", async () => {
    const tampered = Buffer.from(weights);
    tampered.writeUInt8(tampered.readUInt8(1000) ^ 1, 1000);
    store.put("/tampered/model.safetensors", { bytes: tampered });
    const r = await fetchTo(store.url("/tampered/model.safetensors"), digest);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`expected ${digest}`);
    expect(r.stderr).toContain(singleFileDigest(tampered));
    expect(r.message()).toMatchObject({
      outcome: "Failed",
      expected: digest,
      actual: singleFileDigest(tampered),
    });
    expectNothingLeft(r.parent);
  }, 60_000);

  it("says when the digest given is the file's plain SHA-256 rather than its artifact digest", async () => {
    store.put("/plain/model.bin", { bytes: weights });
    const plain = `sha256:${createHash("sha256").update(weights).digest("hex")}`;
    const r = await fetchTo(store.url("/plain/model.bin"), plain);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("plain SHA-256");
  }, 60_000);

  it("resumes with a Range request after the server fails mid-stream", async () => {
    store.put("/flaky/model.bin", { bytes: weights, cutAt: 1024 * 1024, cutTimes: 1 });
    const r = await fetchTo(store.url("/flaky/model.bin"), digest);
    expect(r.stderr).toContain("retrying");
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.dest, "model.bin")).equals(weights)).toBe(true);
    const ranges = store.seen.filter((s) => s.path === "/flaky/model.bin").map((s) => s.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1] ?? "")?.[0])).toBeGreaterThan(0);
  }, 60_000);

  it("starts over when a server without Range support fails mid-stream", async () => {
    store.put("/norange/model.bin", {
      bytes: weights,
      cutAt: 2 * 1024 * 1024,
      cutTimes: 1,
      ignoreRange: true,
    });
    const r = await fetchTo(store.url("/norange/model.bin"), digest);
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.dest, "model.bin")).equals(weights)).toBe(true);
  }, 60_000);

  it("fails a download that is truncated every time, after its retries, with nothing half-written", async () => {
    store.put("/truncated/model.bin", { bytes: weights, cutAt: 500_000, ignoreRange: true });
    const r = await fetchTo(store.url("/truncated/model.bin"), digest);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/model\.bin.*(truncated|aborted|ECONNRESET|socket hang up|terminated)/);
    expect(store.seen.filter((s) => s.path === "/truncated/model.bin")).toHaveLength(3);
    expectNothingLeft(r.parent);
  }, 60_000);

  it("does not retry a refused credential and never prints the token", async () => {
    store.put("/private/model.bin", { bytes: weights, token: "right-token" });
    const wrong = await fetchTo(store.url("/private/model.bin"), digest, [], {
      MODELCHAIN_ARTIFACT_TOKEN: "wrong-token-123",
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("HTTP 403");
    expect(wrong.stderr + wrong.stdout).not.toContain("wrong-token-123");
    expect(store.seen.filter((s) => s.path === "/private/model.bin")).toHaveLength(1);
    expectNothingLeft(wrong.parent);
    const right = await fetchTo(store.url("/private/model.bin"), digest, [], {
      MODELCHAIN_ARTIFACT_TOKEN: "right-token",
    });
    expect(right.status).toBe(0);
  }, 60_000);

  it("gives up on a server that keeps failing with 503, after its retries", async () => {
    store.put("/down/model.bin", { bytes: weights, status: 503 });
    const r = await fetchTo(store.url("/down/model.bin"), digest);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("HTTP 503");
    expect(store.seen.filter((s) => s.path === "/down/model.bin")).toHaveLength(3);
    expectNothingLeft(r.parent);
  }, 60_000);

  it("resolves hf://<repo>@<revision>/<path> to the Hub's resolve URL, sending HF_TOKEN only to the Hub", async () => {
    const rev = "0123456789abcdef0123456789abcdef01234567";
    store.put(`/org/tiny-model/resolve/${rev}/weights/model.safetensors`, {
      bytes: weights,
      token: "hub-token",
      redirectTo: "/cdn/blob-1",
    });
    store.put("/cdn/blob-1", { bytes: weights });
    const r = await fetchTo(
      `hf://org/tiny-model@${rev}/weights/model.safetensors`,
      digest,
      ["--hf-endpoint", store.url("")],
      { HF_TOKEN: "hub-token" },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.dest, "weights", "model.safetensors")).equals(weights)).toBe(true);
    const cdn = store.seen.filter((s) => s.path === "/cdn/blob-1");
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((s) => s.authorization === undefined && (s.host ?? "").startsWith("localhost"))).toBe(
      true,
    );
  }, 60_000);

  it("leaves an existing destination alone: done when it holds the artifact, refused when not", async () => {
    store.put("/again/model.bin", { bytes: weights });
    const first = await fetchTo(store.url("/again/model.bin"), digest);
    expect(first.status).toBe(0);
    const again = await runCliAsync(
      ["artifact", "fetch", "--uri", store.url("/again/model.bin"), "--digest", digest, "--dest", first.dest],
      undefined,
      env,
    );
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ fetched: false, digest });
    const other = `sha256:${"0".repeat(64)}`;
    const refused = await runCliAsync(
      ["artifact", "fetch", "--uri", store.url("/again/model.bin"), "--digest", other, "--dest", first.dest],
      undefined,
      env,
    );
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("refusing to overwrite");
    expect(existsSync(join(first.dest, "model.bin"))).toBe(true);
  }, 60_000);
});
