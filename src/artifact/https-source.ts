// An artifact at an HTTPS URL (and a Hugging Face Hub file, which is one): GET with
// `Range: bytes=N-` and `If-Range: <ETag>` to resume, redirects followed. A bearer token, when
// given, goes only to the URL's own host: the Hub redirects downloads to a CDN with a signed
// URL, which must not receive the token.
import type { IncomingMessage } from "node:http";
import { get } from "node:https";
import { posix } from "node:path";
import { ArtifactFetchFailed, isTransientStatus, type ArtifactSource, type OpenedRange } from "./source.ts";

const MAX_REDIRECTS = 5;

export interface HttpsSourceOptions {
  url: string;
  /** The path the one file gets below the destination. */
  path?: string;
  bearerToken?: string;
  /** Cuts a request that sends nothing for this long (a stalled server). */
  idleTimeoutMs?: number;
}

function request(url: URL, headers: Record<string, string>, idleMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, timeout: idleMs }, resolve);
    req.on("timeout", () =>
      req.destroy(new ArtifactFetchFailed(`${url.origin}${url.pathname}: no data for ${idleMs} ms`, true)),
    );
    req.on("error", (e) =>
      reject(
        e instanceof ArtifactFetchFailed
          ? e
          : new ArtifactFetchFailed(`${url.origin}${url.pathname}: ${e.message}`, true, undefined, {
              cause: e,
            }),
      ),
    );
  });
}

/** `bytes 100-199/1000` → start 100, total 1000. */
function contentRange(value: string | undefined): { start: number; total?: number } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value);
  if (m === null) return undefined;
  return { start: Number(m[1]), ...(m[2] === "*" ? {} : { total: Number(m[2]) }) };
}

function rangeOf(res: IncomingMessage): OpenedRange {
  const etag = res.headers.etag;
  const length = res.headers["content-length"];
  const partial = res.statusCode === 206 ? contentRange(res.headers["content-range"]) : undefined;
  const total =
    partial?.total ?? (length === undefined || partial !== undefined ? undefined : Number(length));
  return {
    body: res,
    start: partial?.start ?? 0,
    ...(total === undefined ? {} : { total }),
    ...(etag === undefined ? {} : { validator: etag }),
  };
}

export function httpsSource(options: HttpsSourceOptions): ArtifactSource {
  const origin = new URL(options.url);
  if (origin.protocol !== "https:")
    throw new ArtifactFetchFailed(`${options.url}: only https:// is fetched`, false);
  const path = options.path ?? posix.basename(origin.pathname);
  const idleMs = options.idleTimeoutMs ?? 30_000;
  const headersFor = (url: URL, offset: number, validator: string | undefined): Record<string, string> => ({
    ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
    ...(offset > 0 && validator !== undefined ? { "if-range": validator } : {}),
    ...(options.bearerToken !== undefined && url.host === origin.host
      ? { authorization: `Bearer ${options.bearerToken}` }
      : {}),
  });
  return {
    list: () => Promise.resolve([{ path, locator: `${origin.origin}${origin.pathname}` }]),
    async open(_object, offset, validator) {
      let url = origin;
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const res = await request(url, headersFor(url, offset, validator), idleMs);
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          res.resume();
          url = new URL(res.headers.location, url);
          if (url.protocol !== "https:")
            throw new ArtifactFetchFailed(`${origin.pathname}: redirected off https`, false);
          continue;
        }
        if (status === 200 || status === 206) return rangeOf(res);
        res.resume();
        // 416: the range is past the end of what the store now holds; start over.
        if (status === 416 && offset > 0) return this.open(_object, 0, undefined);
        throw new ArtifactFetchFailed(
          `GET ${url.origin}${url.pathname}: HTTP ${status}`,
          isTransientStatus(status),
          status,
        );
      }
      throw new ArtifactFetchFailed(
        `GET ${origin.origin}${origin.pathname}: more than ${MAX_REDIRECTS} redirects`,
        false,
      );
    },
  };
}

/** The Hub's download URL of one file at one revision. */
export function hubFileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  const base = endpoint.replace(/\/+$/, "");
  const enc = (s: string): string => s.split("/").map(encodeURIComponent).join("/");
  return `${base}/${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(path)}`;
}
