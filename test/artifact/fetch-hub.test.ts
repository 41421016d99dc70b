// `modelchain artifact fetch --uri hf://…` as a child process against the loopback Hub
// (hub-server.ts, shown Hub-compatible by hub-compat.test.ts): a model repository or folder
// lands at --dest only when its directory digest is the signed one (the digest the real
// model-signing computes), and a changed, extra or missing file, bytes unlike the Hub's LFS
// listing, a server failing mid-stream or a refused token is a clear error naming the file,
// with nothing left at the destination.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_IGNORED_PATHS, manifestDigest, type FileDigest } from "../../src/artifact/index.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { modelSigningDigest } from "../pytools/model-signing.ts";
import { pythonTool } from "../pytools/tools.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { below, generatedModel, readModelDir, REVISION, writeModelDir } from "./hub-model.ts";
import { startHubServer, type HubServer } from "./hub-server.ts";

const skip = !hasOpenssl();
if (skip) console.log("SKIP artifact fetch from the Hub: no openssl CLI to make the server's certificate");
const signing = pythonTool("signing", "model_signing");
if ("missing" in signing) console.log(`SKIP the model-signing digest comparison: ${signing.missing}`);

const TOKEN = "hf_right_token_7";
const SHARD = "model-00001-of-00002.safetensors";

function manifestOf(files: Record<string, Buffer>): FileDigest[] {
  return Object.entries(files)
    .filter(([p]) => !DEFAULT_IGNORED_PATHS.includes(p))
    .map(([path, b]) => ({ path, sha256: createHash("sha256").update(b).digest("hex") }));
}

describe.skipIf(skip)("artifact fetch from a Hugging Face Hub", () => {
  const model = generatedModel();
  const signed = manifestOf(model);
  const digest = manifestDigest(signed);
  let hub: HubServer;
  let env: NodeJS.ProcessEnv;
  let manifestFile: string;

  const variant = (id: string, files: Record<string, Buffer>): void =>
    hub.addRepo({ id: `acme/${id}`, commit: REVISION, files, token: TOKEN });

  beforeAll(async () => {
    const tls = certDir();
    hub = await startHubServer(tls.certFile, tls.keyFile, 4);
    env = { NODE_EXTRA_CA_CERTS: tls.certFile, HF_TOKEN: TOKEN, HF_ENDPOINT: hub.endpoint };
    for (const id of ["llm", "llm-cdn", "llm-flaky", "llm-cut", "llm-busy", "llm-down"]) variant(id, model);
    variant("llm-changed", { ...model, "config.json": Buffer.from('{"hidden_size": 9}') });
    variant("llm-extra", { ...model, "notes.txt": Buffer.from("x") });
    const { ["tokenizer/vocab.txt"]: _gone, ...missing } = model;
    variant("llm-missing", missing);
    const tampered = Buffer.from(model[SHARD] ?? Buffer.alloc(0));
    tampered.writeUInt8(tampered.readUInt8(5000) ^ 1, 5000);
    hub.fault("acme/llm-cdn", SHARD, { serve: tampered });
    hub.fault("acme/llm-flaky", SHARD, { cutAt: 300_000, cutTimes: 1 });
    hub.fault("acme/llm-cut", SHARD, { cutAt: 300_000 });
    hub.failListing("acme/llm-busy", 1, 503);
    hub.failListing("acme/llm-down", 99, 503);
    hub.rename("acme/llm-old-name", "acme/llm");
    manifestFile = join(mkdtempSync(join(tmpdir(), "mc-hub-")), "files.json");
    writeFileSync(manifestFile, JSON.stringify({ digest, files: signed }));
  });
  afterAll(() => hub?.close());

  async function fetchTo(uri: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}, want = digest) {
    const parent = mkdtempSync(join(tmpdir(), "mc-hub-fetch-"));
    const dest = join(parent, "model");
    const message = join(parent, "termination-log");
    const args = ["artifact", "fetch", "--uri", uri, "--digest", want, "--dest", dest, "--retries", "3"];
    const r = await runCliAsync([...args, "--termination-message-path", message, ...extra], undefined, {
      ...env,
      ...extraEnv,
    });
    const outcome = (): Record<string, unknown> =>
      JSON.parse(readFileSync(message, "utf8")) as Record<string, unknown>;
    return { ...r, parent, dest, outcome };
  }

  /** Nothing at the destination and no partial download beside it. */
  const expectNothingLeft = (parent: string): void =>
    expect(readdirSync(parent).filter((n) => n !== "termination-log")).toEqual([]);

  it("fetches a whole repository into --dest, its digest the signed one, .gitattributes left out", async () => {
    const r = await fetchTo(`hf://acme/llm@${REVISION}`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { [".gitattributes"]: _ignored, ...kept } = model;
    expect(readModelDir(r.dest)).toEqual(kept);
    expect(r.outcome()).toMatchObject({ outcome: "Verified", expected: digest, actual: digest });
    expect(JSON.parse(r.stdout)).toMatchObject({ digest, files: 10, fetched: true });
    const hubRequests = hub.seen.filter((s) => !s.path.startsWith("/cdn/") && s.path.includes("acme/llm/"));
    expect(hubRequests.every((s) => s.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const cdn = hub.seen.filter((s) => s.path.startsWith("/cdn/"));
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((s) => s.authorization === undefined)).toBe(true);
  }, 60_000);

  it.skipIf("missing" in signing)(
    "the digest is the one the real model-signing signs for the same directory",
    () => {
      expect(modelSigningDigest(writeModelDir(model))).toBe(digest);
    },
    60_000,
  );

  it("fetches a folder of the repository, and a path that names a file as the one file", async () => {
    const tokenizer = below(model, "tokenizer");
    const folder = await fetchTo(
      `hf://acme/llm@${REVISION}/tokenizer`,
      [],
      {},
      manifestDigest(manifestOf(tokenizer)),
    );
    expect(folder.stderr).toBe("");
    expect(readModelDir(folder.dest)).toEqual(tokenizer);
    const config = { "config.json": model["config.json"] ?? Buffer.alloc(0) };
    const file = await fetchTo(
      `hf://acme/llm@${REVISION}/config.json`,
      [],
      {},
      manifestDigest(manifestOf(config)),
    );
    expect(file.stderr).toBe("");
    expect(readModelDir(file.dest)).toEqual(config);
    hub.listFilesAsEntries(true);
    const listedFile = await fetchTo(
      `hf://acme/llm@${REVISION}/config.json`,
      [],
      {},
      manifestDigest(manifestOf(config)),
    );
    hub.listFilesAsEntries(false);
    expect(listedFile.stderr).toBe("");
    expect(readModelDir(listedFile.dest)).toEqual(config);
    const notFolder = await fetchTo(`hf://acme/llm@${REVISION}/config.json/`);
    expect(notFolder.status).toBe(1);
    expect(notFolder.stderr).toContain("no such folder");
    expectNothingLeft(notFolder.parent);
    const absent = await fetchTo(`hf://acme/llm@${REVISION}/weights`);
    expect(absent.status).toBe(1);
    expect(absent.stderr).toContain(`/acme/llm/resolve/${REVISION}/weights: HTTP 404`);
    expectNothingLeft(absent.parent);
  }, 60_000);

  for (const [repo, named, what] of [
    ["llm-changed", 'file "config.json" has sha256', "one changed file"],
    ["llm-extra", 'extra file "notes.txt"', "an extra file"],
    ["llm-missing", 'missing file "tokenizer/vocab.txt"', "a missing file"],
  ] as const) {
    it(`refuses a repository with ${what}, naming it, with nothing at --dest`, async () => {
      const r = await fetchTo(`hf://acme/${repo}@${REVISION}`, ["--manifest", manifestFile]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`expected ${digest}`);
      expect(r.stderr).toContain(named);
      expect(r.outcome()).toMatchObject({ outcome: "Failed", expected: digest, file: named.split('"')[1] });
      expectNothingLeft(r.parent);
    }, 60_000);
  }

  it("names the file whose bytes are not the Hub's listed LFS sha256, without a manifest", async () => {
    const r = await fetchTo(`hf://acme/llm-cdn@${REVISION}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`expected ${digest}`);
    expect(r.stderr).toMatch(new RegExp(`file "${SHARD}" has sha256 [0-9a-f]{64}, where the store lists`));
    expectNothingLeft(r.parent);
  }, 60_000);

  it("resumes a file by Range after the CDN fails mid-stream", async () => {
    const r = await fetchTo(`hf://acme/llm-flaky@${REVISION}`);
    expect(r.stderr).toContain(`${SHARD}: try 1 failed`);
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.dest, SHARD)).equals(model[SHARD] ?? Buffer.alloc(0))).toBe(true);
    const sha = createHash("sha256")
      .update(model[SHARD] ?? Buffer.alloc(0))
      .digest("hex");
    const ranges = hub.seen.filter((s) => s.path === `/cdn/${sha}`).map((s) => s.range);
    expect(ranges.at(-1)).toMatch(/^bytes=[1-9]\d*-$/);
  }, 60_000);

  it("fails a file the server cuts every time, after its retries, naming it, with nothing half-written", async () => {
    const r = await fetchTo(`hf://acme/llm-cut@${REVISION}`);
    expect(r.status).toBe(1);
    const last = r.stderr.trim().split("\n").at(-1) ?? "";
    expect(last).toMatch(new RegExp(`${SHARD}: .*(truncated|aborted|ECONNRESET|socket hang up|terminated)`));
    expect(r.outcome()).toMatchObject({
      outcome: "Failed",
      error: expect.stringContaining(SHARD) as unknown,
    });
    expectNothingLeft(r.parent);
  }, 60_000);

  it("retries a tree listing the Hub answers with 503, and gives up after its retries", async () => {
    const busy = await fetchTo(`hf://acme/llm-busy@${REVISION}`);
    expect(busy.stderr).toContain("(listing): try 1 failed (list hf://acme/llm-busy@");
    expect(busy.status).toBe(0);
    const down = await fetchTo(`hf://acme/llm-down@${REVISION}`);
    expect(down.status).toBe(1);
    expect(down.stderr.trim().split("\n").at(-1)).toContain(`list hf://acme/llm-down@${REVISION}/: HTTP 503`);
    expect(hub.seen.filter((s) => s.path.startsWith("/api/models/acme/llm-down/"))).toHaveLength(3);
    expectNothingLeft(down.parent);
  }, 60_000);

  it("follows the Hub's redirects of a renamed repository, for its listing and its files", async () => {
    const r = await fetchTo(`hf://acme/llm-old-name@${REVISION}`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(hub.seen.some((s) => s.path.startsWith("/api/models/acme/llm-old-name/tree/"))).toBe(true);
    expect(hub.seen.some((s) => s.path.startsWith("/acme/llm-old-name/resolve/"))).toBe(true);
  }, 60_000);

  it("refuses a wrong token at once (HTTP 401), never printing it, with nothing at --dest", async () => {
    const before = hub.seen.length;
    const r = await fetchTo(`hf://acme/llm@${REVISION}`, [], { HF_TOKEN: "hf_wrong_token_42" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`list hf://acme/llm@${REVISION}/: HTTP 401: the Hub refused the token`);
    expect(r.stderr).not.toContain("retrying");
    expect(r.stderr + r.stdout + JSON.stringify(r.outcome())).not.toContain("hf_wrong_token_42");
    expect(hub.seen.length - before).toBe(1);
    expectNothingLeft(r.parent);
  }, 60_000);

  it("takes the endpoint from --hf-endpoint over HF_ENDPOINT", async () => {
    const r = await fetchTo(
      `hf://acme/llm@${REVISION}/tokenizer/vocab.txt`,
      ["--hf-endpoint", hub.endpoint],
      {
        HF_ENDPOINT: "https://127.0.0.1:1",
      },
      manifestDigest(manifestOf({ "tokenizer/vocab.txt": model["tokenizer/vocab.txt"] ?? randomBytes(1) })),
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 60_000);
});
