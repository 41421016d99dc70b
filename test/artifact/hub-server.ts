// A Hugging Face Hub-compatible server on loopback (HTTPS), for fetching hf:// artifacts without
// the Hub: the tree API (`/api/models/{repo}/tree/{rev}[/{path}]`, recursive or not, paginated
// through `Link: <…>; rel="next"`, 404 `X-Error-Code: EntryNotFound` for a file's path), the
// `resolve` URLs (LFS files 302 to a CDN-like path on another host name with the Hub's
// X-Repo-Commit / X-Linked-Etag / X-Linked-Size headers; small files served directly), HEAD and
// Range. hub-compat.test.ts proves the real huggingface_hub client reads it as it reads the Hub.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";

export interface HubRepo {
  id: string;
  /** The 40-hex commit; "main" is an alias of it. */
  commit: string;
  files: Record<string, Buffer>;
  /** Required `authorization: Bearer <token>` on every Hub (not CDN) request. */
  token?: string;
}

/** What the server does wrong for one file of a repo. */
export interface HubFault {
  /** Cut the body after this many bytes, on the first `cutTimes` downloads (all when unset). */
  cutAt?: number;
  cutTimes?: number;
  /** Serve these bytes (the listing still names the file's real size and sha256). */
  serve?: Buffer;
}

export interface SeenRequest {
  method: string;
  path: string;
  query: string;
  range: string | undefined;
  authorization: string | undefined;
  host: string | undefined;
}

export interface HubServer {
  endpoint: string;
  addRepo(repo: HubRepo): void;
  fault(repo: string, path: string, fault: HubFault): void;
  /** Answer the next `times` tree listings of `repo` with `status` (a Hub briefly unable). */
  failListing(repo: string, times: number, status: number): void;
  /** A renamed repository: requests naming `from` are redirected (307) to `to`, as the Hub does. */
  rename(from: string, to: string): void;
  /** Answer a file's tree listing with the file's own entry instead of 404 EntryNotFound. */
  listFilesAsEntries(on: boolean): void;
  seen: SeenRequest[];
  close(): Promise<void>;
}

const LFS = /\.(safetensors|bin|onnx|pt|gguf|msgpack|h5)$/;
const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");
const gitOid = (b: Buffer): string => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const lfsPointer = (b: Buffer): Buffer =>
  Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(b)}\nsize ${b.length}\n`);

function treeEntries(repo: HubRepo): Record<string, unknown>[] {
  const dirs = new Set<string>();
  const files = Object.entries(repo.files).map(([path, bytes]) => {
    for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) dirs.add(path.slice(0, i));
    const pointer = lfsPointer(bytes);
    return {
      type: "file",
      oid: gitOid(LFS.test(path) ? pointer : bytes),
      size: bytes.length,
      path,
      ...(LFS.test(path)
        ? { lfs: { oid: sha256(bytes), size: bytes.length, pointerSize: pointer.length } }
        : {}),
    };
  });
  const folders = [...dirs].map((path) => ({
    type: "directory",
    oid: sha256(path).slice(0, 40),
    size: 0,
    path,
  }));
  return [...folders, ...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function hubError(res: ServerResponse, status: number, code: string | undefined, message: string): void {
  res.writeHead(status, {
    "content-type": "application/json",
    ...(code === undefined ? {} : { "x-error-code": code }),
  });
  res.end(JSON.stringify({ error: message }));
}

function rangeStart(req: IncomingMessage, size: number, etag: string): number | undefined {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const ifRange = req.headers["if-range"];
  if (m === null || (ifRange !== undefined && ifRange !== etag)) return undefined;
  const start = Number(m[1]);
  return start < size ? start : undefined;
}

/** A file's bytes with Range support; a fault may cut the body or swap the bytes. */
function serveBytes(
  req: IncomingMessage,
  res: ServerResponse,
  bytes: Buffer,
  headers: Record<string, string>,
  cut: number | undefined,
): void {
  const etag = headers["etag"] ?? "";
  const start = rangeStart(req, bytes.length, etag);
  const body = bytes.subarray(start ?? 0);
  res.writeHead(start === undefined ? 200 : 206, {
    ...headers,
    "content-length": String(body.length),
    "accept-ranges": "bytes",
    ...(start === undefined ? {} : { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` }),
  });
  if (req.method === "HEAD") return void res.end();
  if (cut === undefined) return void res.end(body);
  res.write(body.subarray(0, Math.max(0, cut - (start ?? 0))), () => res.destroy());
}

export async function startHubServer(certFile: string, keyFile: string, pageSize = 4): Promise<HubServer> {
  const repos = new Map<string, HubRepo>();
  const faults = new Map<string, HubFault>();
  const downloads = new Map<string, number>();
  const cdn = new Map<string, { repo: string; path: string }>();
  const listingFailures = new Map<string, { times: number; status: number }>();
  const renamed = new Map<string, string>();
  const options = { fileEntries: false };
  const seen: SeenRequest[] = [];
  let port = 0;

  /** The bytes one download of `repo/path` gets, and where to cut them. */
  function download(repo: HubRepo, path: string, bytes: Buffer): { bytes: Buffer; cut: number | undefined } {
    const key = `${repo.id}/${path}`;
    const f = faults.get(key) ?? {};
    const n = downloads.get(key) ?? 0;
    downloads.set(key, n + 1);
    const cut = f.cutAt !== undefined && n < (f.cutTimes ?? Infinity) ? f.cutAt : undefined;
    return { bytes: f.serve ?? bytes, cut };
  }

  function repoAt(res: ServerResponse, id: string, rev: string, req: IncomingMessage): HubRepo | undefined {
    const repo = repos.get(id);
    if (repo === undefined) return void hubError(res, 404, "RepoNotFound", "Repository not found");
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`)
      return void hubError(res, 401, undefined, "Invalid credentials in Authorization header");
    if (rev !== repo.commit && rev !== "main")
      return void hubError(res, 404, "RevisionNotFound", "Invalid rev id");
    return repo;
  }

  function tree(
    req: IncomingMessage,
    res: ServerResponse,
    repo: HubRepo,
    folder: string,
    query: URLSearchParams,
  ): void {
    const all = treeEntries(repo);
    const file = all.find((e) => e["path"] === folder && e["type"] === "file");
    if (options.fileEntries && file !== undefined) return void res.writeHead(200).end(JSON.stringify([file]));
    if (folder !== "" && !all.some((e) => e["path"] === folder && e["type"] === "directory"))
      return hubError(res, 404, "EntryNotFound", `${folder} does not exist on "${repo.commit}"`);
    const prefix = folder === "" ? "" : `${folder}/`;
    const recursive = query.get("recursive") === "true" || query.get("recursive") === "True";
    const below = all.filter((e) => {
      const p = String(e["path"]);
      return p.startsWith(prefix) && (recursive || !p.slice(prefix.length).includes("/"));
    });
    const from = Number(Buffer.from(query.get("cursor") ?? "", "base64url").toString() || "0");
    const page = below.slice(from, from + pageSize);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (from + pageSize < below.length) {
      const next = new URLSearchParams(query);
      next.set("cursor", Buffer.from(String(from + pageSize)).toString("base64url"));
      headers["link"] = `<https://127.0.0.1:${port}${(req.url ?? "").split("?")[0]}?${next}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify(page));
  }

  function resolve(req: IncomingMessage, res: ServerResponse, repo: HubRepo, path: string): void {
    const bytes = repo.files[path];
    if (bytes === undefined)
      return hubError(res, 404, "EntryNotFound", `${path} does not exist on "${repo.commit}"`);
    const common = { "x-repo-commit": repo.commit };
    if (!LFS.test(path)) {
      const got = download(repo, path, bytes);
      return serveBytes(req, res, got.bytes, { ...common, etag: `"${gitOid(bytes)}"` }, got.cut);
    }
    const oid = sha256(bytes);
    cdn.set(oid, { repo: repo.id, path });
    res.writeHead(302, {
      ...common,
      location: `https://localhost:${port}/cdn/${oid}?X-Amz-Signature=${sha256(oid).slice(0, 16)}`,
      "x-linked-etag": `"${oid}"`,
      "x-linked-size": String(bytes.length),
      etag: `"${oid}"`,
    });
    res.end();
  }

  function fromCdn(req: IncomingMessage, res: ServerResponse, oid: string): void {
    const at = cdn.get(oid);
    const repo = at === undefined ? undefined : repos.get(at.repo);
    const bytes = at === undefined ? undefined : repo?.files[at.path];
    if (at === undefined || repo === undefined || bytes === undefined) return void res.writeHead(404).end();
    const got = download(repo, at.path, bytes);
    serveBytes(req, res, got.bytes, { etag: `"${oid}"` }, got.cut);
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://hub.invalid");
    seen.push({
      method: req.method ?? "",
      path: decodeURIComponent(url.pathname),
      query: url.search,
      range: req.headers.range,
      authorization: req.headers.authorization,
      host: req.headers.host,
    });
    const t = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    const r = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const c = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (c !== null) return fromCdn(req, res, c[1] ?? "");
    const m = t ?? r;
    if (m === null) return hubError(res, 404, undefined, "Not Found");
    const moved = renamed.get(decodeURIComponent(m[1] ?? ""));
    if (moved !== undefined)
      return void res
        .writeHead(307, { location: `${url.pathname.replace(m[1] ?? "", moved)}${url.search}` })
        .end();
    const repo = repoAt(res, decodeURIComponent(m[1] ?? ""), decodeURIComponent(m[2] ?? ""), req);
    if (repo === undefined) return;
    const rest = decodeURIComponent(m[3] ?? "").replace(/\/$/, "");
    const failing = listingFailures.get(repo.id);
    if (t !== null && failing !== undefined && failing.times > 0) {
      failing.times--;
      return hubError(res, failing.status, undefined, "Service unavailable");
    }
    if (t !== null) return tree(req, res, repo, rest, url.searchParams);
    resolve(req, res, repo, rest);
  }

  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, route);
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  port = (server.address() as AddressInfo).port;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    addRepo: (repo) => repos.set(repo.id, repo),
    fault: (repo, path, fault) => faults.set(`${repo}/${path}`, fault),
    failListing: (repo, times, status) => listingFailures.set(repo, { times, status }),
    rename: (from, to) => renamed.set(from, to),
    listFilesAsEntries: (on) => (options.fileEntries = on),
    seen,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
