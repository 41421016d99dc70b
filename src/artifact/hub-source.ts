// A Hugging Face Hub artifact: one file, or a folder (the whole repository when no path is
// given) listed with the Hub's tree API and fetched file by file from its `resolve` URLs, which
// redirect to a CDN. A path is a folder when the tree listing of it answers with entries; the
// Hub answers 404 `EntryNotFound` for a file's path (as huggingface_hub's HfFileSystem reads
// it), which is then fetched as the one file. A path ending in "/" (or none) must be a folder.
// The token goes only to the endpoint's host, never to the CDN.
import type { IncomingMessage } from "node:http";
import {
  authorizationFor,
  DEFAULT_IDLE_MS,
  getFollowing,
  openHttps,
  type BearerAuth,
} from "./https-source.ts";
import { ArtifactFetchFailed, isTransientStatus, type ArtifactSource, type RemoteObject } from "./source.ts";

export interface HubSourceOptions {
  endpoint: string;
  repo: string;
  revision: string;
  /** "" for the whole repository; ending in "/" for a folder; otherwise a file or a folder. */
  path: string;
  bearerToken?: string;
  idleTimeoutMs?: number;
}

/** One entry of `GET /api/models/{repo}/tree/{revision}/{path}`, as the Hub (and HfApi) has it. */
interface TreeEntry {
  type: "file" | "directory";
  path: string;
  lfs?: { oid: string };
}

/** A tree page is read whole; the Hub's has at most 1000 entries (a few hundred KiB). */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

const encodePath = (s: string): string => s.split("/").map(encodeURIComponent).join("/");

/** The Hub's download URL of one file at one revision. */
export function hubFileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return `${base}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** The Hub's recursive tree listing URL of a folder ("" for the repository's root). */
export function hubTreeUrl(endpoint: string, repo: string, revision: string, folder: string): string {
  const base = endpoint.replace(/\/+$/, "");
  const below = folder === "" ? "" : `/${encodePath(folder)}`;
  return `${base}/api/models/${encodePath(repo)}/tree/${encodeURIComponent(revision)}${below}?recursive=true`;
}

/** The `rel="next"` target of a Link header (RFC 8288), as the Hub paginates its listings. */
export function nextLink(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(/,\s*(?=<)/)) {
    const m = /^<([^>]*)>(.*)$/.exec(part.trim());
    if (m !== null && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/.test(m[2] ?? "")) return m[1];
  }
  return undefined;
}

function isTreeEntry(v: unknown): v is TreeEntry {
  if (typeof v !== "object" || v === null) return false;
  if (!("type" in v) || (v.type !== "file" && v.type !== "directory")) return false;
  if (!("path" in v) || typeof v.path !== "string") return false;
  if (!("lfs" in v) || v.lfs === undefined || v.lfs === null) return true;
  return typeof v.lfs === "object" && "oid" in v.lfs && typeof v.lfs.oid === "string";
}

async function readBody(res: IncomingMessage, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PAGE_BYTES) {
      res.destroy();
      throw new ArtifactFetchFailed(`${what}: a listing page over ${MAX_PAGE_BYTES} bytes`, false);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

type Page = { entries: TreeEntry[]; next: string | undefined } | { notFound: string };

/** The Hub's error code for a 404 (`X-Error-Code`): EntryNotFound, RepoNotFound, RevisionNotFound. */
function errorCode(res: IncomingMessage): string {
  const code = res.headers["x-error-code"];
  return typeof code === "string" ? code : "";
}

/** One page of a tree listing; a 404 other than for the repository or revision is "not a folder". */
async function treePage(url: URL, uri: string, auth: BearerAuth | undefined, idleMs: number): Promise<Page> {
  const headersFor = (to: URL): Record<string, string> => ({
    accept: "application/json",
    ...authorizationFor(to, auth),
  });
  // A renamed repository's listing redirects (as the Hub does), like a download.
  const { res, url: answered } = await getFollowing(url, headersFor, idleMs);
  const status = res.statusCode ?? 0;
  if (status === 404 && errorCode(res) !== "RepoNotFound" && errorCode(res) !== "RevisionNotFound") {
    res.resume();
    return { notFound: errorCode(res) };
  }
  if (status !== 200) {
    res.resume();
    const code = errorCode(res) === "" ? "" : ` (${errorCode(res)})`;
    const refused =
      status === 401 || status === 403 ? ": the Hub refused the token (HF_TOKEN) or needs one" : "";
    throw new ArtifactFetchFailed(
      `list ${uri}: HTTP ${status}${code}${refused}`,
      isTransientStatus(status),
      status,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(await readBody(res, `list ${uri}`));
  } catch (e: unknown) {
    if (e instanceof ArtifactFetchFailed) throw e;
    throw new ArtifactFetchFailed(`list ${uri}: the tree listing is not JSON`, true, undefined, {
      cause: e,
    });
  }
  if (!Array.isArray(value) || !value.every(isTreeEntry))
    throw new ArtifactFetchFailed(`list ${uri}: expected a list of {type, path} tree entries`, false);
  const link = res.headers.link;
  const next = nextLink(Array.isArray(link) ? link.join(", ") : link);
  return { entries: value, next: next === undefined ? undefined : new URL(next, answered).href };
}

export function hubSource(options: HubSourceOptions): ArtifactSource {
  const endpoint = new URL(options.endpoint);
  if (endpoint.protocol !== "https:")
    throw new ArtifactFetchFailed(`${options.endpoint}: the Hub endpoint must be https://`, false);
  const { repo, revision, path } = options;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const auth: BearerAuth | undefined =
    options.bearerToken === undefined ? undefined : { host: endpoint.host, token: options.bearerToken };
  const uri = `hf://${repo}@${revision}/${path}`;
  const folder = path.replace(/\/$/, "");

  /** A listed file as an object below the destination; paths that would escape it are refused. */
  function objectOf(entry: TreeEntry): RemoteObject {
    const prefix = folder === "" ? "" : `${folder}/`;
    // A listing of a file's path that answers with the file itself (not 404): the one-file case.
    const itself = !path.endsWith("/") && entry.path === folder;
    const relative = itself ? folder : entry.path.startsWith(prefix) ? entry.path.slice(prefix.length) : "";
    if (relative.split("/").some((p) => p === "" || p === "." || p === ".."))
      throw new ArtifactFetchFailed(
        `list ${uri}: entry ${JSON.stringify(entry.path)} is not below the folder`,
        false,
      );
    const sha = entry.lfs?.oid;
    return {
      path: relative,
      locator: hubFileUrl(endpoint.href, repo, revision, entry.path),
      ...(sha !== undefined && HEX_SHA256.test(sha) ? { listedSha256: sha } : {}),
    };
  }

  async function listFolder(): Promise<RemoteObject[] | undefined> {
    const objects: RemoteObject[] = [];
    const visited = new Set<string>();
    for (
      let url: string | undefined = hubTreeUrl(endpoint.href, repo, revision, folder);
      url !== undefined;
    ) {
      if (visited.has(url)) throw new ArtifactFetchFailed(`list ${uri}: the listing's pages loop`, false);
      visited.add(url);
      const got = await treePage(new URL(url), uri, auth, idleMs);
      if ("notFound" in got) {
        if (objects.length > 0)
          throw new ArtifactFetchFailed(`list ${uri}: a listing page is gone (HTTP 404)`, true);
        return undefined;
      }
      for (const e of got.entries) if (e.type === "file") objects.push(objectOf(e));
      url = got.next;
    }
    if (objects.length === 0) throw new ArtifactFetchFailed(`${uri}: the folder holds no files`, false);
    return objects;
  }

  return {
    async list() {
      const listed = await listFolder();
      if (listed !== undefined) return listed;
      if (folder === "" || path.endsWith("/"))
        throw new ArtifactFetchFailed(
          `${uri}: no such folder at revision ${revision} (HTTP 404)`,
          false,
          404,
        );
      // Not a folder: the path names one file, which lands at <dest>/<path>.
      return [{ path: folder, locator: hubFileUrl(endpoint.href, repo, revision, folder) }];
    },
    open: (object, offset, validator) => openHttps(new URL(object.locator), auth, offset, validator, idleMs),
  };
}
