// The loopback Hub (hub-server.ts) is Hub-compatible: the real huggingface_hub client from PyPI
// (`test/pytools/setup.sh hf`) lists its tree (following the Link pagination) and
// snapshot_downloads it (HEAD and GET on resolve, the 302 to the CDN-like host), getting the
// repository's files and bytes; modelchain's hf:// fetch of the same repository gets the same.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_IGNORED_PATHS, manifestDigest } from "../../src/artifact/index.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { pythonTool, skipWithoutPythonTool } from "../pytools/tools.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { below, generatedModel, readModelDir, REVISION } from "./hub-model.ts";
import { startHubServer, type HubServer } from "./hub-server.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl) console.log("SKIP Hub compatibility: no openssl CLI to make the server's certificate");
const skip = noOpenssl || skipWithoutPythonTool("Hub compatibility (huggingface_hub)", "hf", "python");

const run = promisify(execFile);
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const digestOf = (files: Record<string, Buffer>): string =>
  manifestDigest(Object.entries(files).map(([path, b]) => ({ path, sha256: sha256(b) })));
const withoutIgnored = (files: Record<string, Buffer>): Record<string, Buffer> =>
  Object.fromEntries(Object.entries(files).filter(([p]) => !DEFAULT_IGNORED_PATHS.includes(p)));

interface ClientView {
  tree: { type: string; path: string; size: number | null; lfs_sha256: string | null }[];
  local_dir: string;
}

describe.skipIf(skip)("the loopback Hub, read by the real huggingface_hub client", () => {
  const model = generatedModel();
  const token = "hf_compat_token_1";
  let hub: HubServer;
  let certFile: string;
  let whole: ClientView;
  let wholeRequests: HubServer["seen"];

  beforeAll(async () => {
    const tls = certDir();
    certFile = tls.certFile;
    hub = await startHubServer(tls.certFile, tls.keyFile, 4);
    hub.addRepo({ id: "acme/tiny-llm", commit: REVISION, files: model, token });
    whole = await client();
    wholeRequests = [...hub.seen];
  }, 120_000);
  afterAll(() => hub?.close());

  async function client(folder?: string): Promise<ClientView> {
    const python = pythonTool("hf", "python");
    if ("missing" in python) throw new Error(python.missing);
    const out = mkdtempSync(join(tmpdir(), "mc-hf-client-"));
    const args = [join(import.meta.dirname, "hub_client.py"), hub.endpoint, "acme/tiny-llm", REVISION];
    args.push(certFile, out, ...(folder === undefined ? [] : [folder]));
    const env = {
      ...process.env,
      HF_TOKEN: token,
      HF_HOME: join(out, ".hf-home"),
      HF_HUB_DISABLE_TELEMETRY: "1",
    };
    const { stdout } = await run(python.bin, args, { env, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout) as ClientView;
  }

  async function modelchainFetch(uri: string, digest: string) {
    const dest = join(mkdtempSync(join(tmpdir(), "mc-hf-fetch-")), "model");
    const r = await runCliAsync(
      ["artifact", "fetch", "--uri", uri, "--digest", digest, "--dest", dest, "--hf-endpoint", hub.endpoint],
      undefined,
      { NODE_EXTRA_CA_CERTS: certFile, HF_TOKEN: token, HF_ENDPOINT: "" },
    );
    return { ...r, dest };
  }

  it("lists the whole tree through the Link pages, and snapshot_download gets every file's bytes", async () => {
    const view = whole;
    const files = view.tree.filter((e) => e.type === "file");
    expect(files.map((e) => e.path).sort()).toEqual(Object.keys(model).sort());
    for (const e of files) {
      const bytes = model[e.path] ?? Buffer.alloc(0);
      expect(e.size).toBe(bytes.length);
      expect(e.lfs_sha256).toBe(/\.(safetensors|onnx)$/.test(e.path) ? sha256(bytes) : null);
    }
    expect(view.tree.filter((e) => e.type === "directory").map((e) => e.path)).toEqual(["onnx", "tokenizer"]);
    const requests = wholeRequests;
    const pages = requests.filter((s) => s.path === `/api/models/acme/tiny-llm/tree/${REVISION}`);
    // 13 entries (11 files, 2 folders) at 4 a page, listed twice: list_repo_tree, then snapshot_download.
    expect(pages.map((s) => s.query.includes("cursor="))).toEqual([
      false,
      true,
      true,
      true,
      false,
      true,
      true,
      true,
    ]);
    expect(requests.some((s) => s.method === "HEAD" && s.path.includes("/resolve/"))).toBe(true);
    const cdn = requests.filter((s) => s.path.startsWith("/cdn/"));
    expect(cdn.length).toBe(3);
    expect(cdn.every((s) => s.authorization === undefined && (s.host ?? "").startsWith("localhost"))).toBe(
      true,
    );
    expect(readModelDir(view.local_dir, [".cache"])).toEqual(model);
  }, 120_000);

  it("modelchain's hf:// fetch of the repository gets the client's files (less model-signing's ignored paths)", async () => {
    const got = readModelDir(whole.local_dir, [".cache"]);
    const r = await modelchainFetch(`hf://acme/tiny-llm@${REVISION}`, digestOf(withoutIgnored(got)));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readModelDir(r.dest)).toEqual(withoutIgnored(got));
  }, 120_000);

  it("a folder: list_repo_tree(path_in_repo) and modelchain's hf://…/tokenizer agree", async () => {
    const view = await client("tokenizer");
    expect(view.tree.map((e) => e.path).sort()).toEqual(
      Object.keys(model)
        .filter((p) => p.startsWith("tokenizer/"))
        .sort(),
    );
    const got = below(readModelDir(view.local_dir, [".cache"]), "tokenizer");
    expect(got).toEqual(below(model, "tokenizer"));
    const r = await modelchainFetch(`hf://acme/tiny-llm@${REVISION}/tokenizer`, digestOf(got));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readModelDir(r.dest)).toEqual(got);
  }, 120_000);
});
