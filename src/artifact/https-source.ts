// An artifact at an HTTPS URL (and each Hugging Face Hub file, see hub-source.ts): GET with
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

export const DEFAULT_IDLE_MS = 30_000;

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
    ownedChunks: true,
    start: partial?.start ?? 0,
    ...(total === undefined ? {} : { total }),
    ...(etag === undefined ? {} : { validator: etag }),
  };
}

/** Where a bearer token may go: only to this host (never to a CDN a download is redirected to). */
export interface BearerAuth {
  host: string;
  token: string;
}

/** GET `target`, following redirects (to https:// only): the first answer that is not one, and its URL. */
export async function getFollowing(
  target: URL,
  headersFor: (url: URL) => Record<string, string>,
  idleMs: number,
): Promise<{ res: IncomingMessage; url: URL }> {
  let url = target;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(url, headersFor(url), idleMs);
    const status = res.statusCode ?? 0;
    if (status < 300 || status >= 400 || res.headers.location === undefined) return { res, url };
    res.resume();
    url = new URL(res.headers.location, url);
    if (url.protocol !== "https:")
      throw new ArtifactFetchFailed(`${target.pathname}: redirected off https`, false);
  }
  throw new ArtifactFetchFailed(
    `GET ${target.origin}${target.pathname}: more than ${MAX_REDIRECTS} redirects`,
    false,
  );
}

/** The bearer header for `url` when it is the token's host. */
export function authorizationFor(url: URL, auth: BearerAuth | undefined): Record<string, string> {
  return auth !== undefined && url.host === auth.host ? { authorization: `Bearer ${auth.token}` } : {};
}

/** GET `target` from `offset` on, following redirects; 200/206 or a typed failure. */
export async function openHttps(
  target: URL,
  auth: BearerAuth | undefined,
  offset: number,
  validator: string | undefined,
  idleMs: number,
): Promise<OpenedRange> {
  const headersFor = (url: URL): Record<string, string> => ({
    ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
    ...(offset > 0 && validator !== undefined ? { "if-range": validator } : {}),
    ...authorizationFor(url, auth),
  });
  const { res, url } = await getFollowing(target, headersFor, idleMs);
  const status = res.statusCode ?? 0;
  if (status === 200 || status === 206) return rangeOf(res);
  res.resume();
  // 416: the range is past the end of what the store now holds; start over.
  if (status === 416 && offset > 0) return openHttps(target, auth, 0, undefined, idleMs);
  throw new ArtifactFetchFailed(
    `GET ${url.origin}${url.pathname}: HTTP ${status}`,
    isTransientStatus(status),
    status,
  );
}

export function httpsSource(options: HttpsSourceOptions): ArtifactSource {
  const origin = new URL(options.url);
  if (origin.protocol !== "https:")
    throw new ArtifactFetchFailed(`${options.url}: only https:// is fetched`, false);
  const path = options.path ?? posix.basename(origin.pathname);
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  const auth =
    options.bearerToken === undefined ? undefined : { host: origin.host, token: options.bearerToken };
  return {
    list: () => Promise.resolve([{ path, locator: `${origin.origin}${origin.pathname}` }]),
    open: (_object, offset, validator) => openHttps(origin, auth, offset, validator, idleMs),
  };
}
