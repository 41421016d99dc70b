// MLflow's REST API over HTTP(S) with Node's fetch: JSON GETs of /api/2.0/mlflow/…, and the
// artifact proxy (/api/2.0/mlflow-artifacts/artifacts) as an ArtifactSource, so a download is
// streamed, hashed and resumed by the same code as `artifact fetch`. Credentials come from
// MLflow's own variables and go only to the tracking server; no message carries them.
import { Backoff } from "../backoff/index.ts";
import {
  ArtifactFetchFailed,
  isTransientStatus,
  type ArtifactSource,
  type OpenedRange,
  type RemoteObject,
} from "../artifact/index.ts";
import { artifactListingOf } from "./records.ts";

/** MLFLOW_TRACKING_TOKEN (a bearer token) or MLFLOW_TRACKING_USERNAME and _PASSWORD (basic). */
export type MlflowAuth = { token: string } | { username: string; password: string } | undefined;

export class MlflowRequestFailed extends Error {
  override readonly name = "MlflowRequestFailed";
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

export function authFromEnvironment(env: NodeJS.ProcessEnv): MlflowAuth {
  const token = env["MLFLOW_TRACKING_TOKEN"];
  if (token !== undefined && token !== "") return { token };
  const username = env["MLFLOW_TRACKING_USERNAME"];
  const password = env["MLFLOW_TRACKING_PASSWORD"];
  if (username !== undefined && username !== "") return { username, password: password ?? "" };
  return undefined;
}

function authorization(auth: MlflowAuth): Record<string, string> {
  if (auth === undefined) return {};
  if ("token" in auth) return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` };
}

const TRIES = 4;
const TIMEOUT_MS = 60_000;

/** The tracking URI as it may be shown: without user:password@ and a trailing slash. */
export function displayUri(trackingUri: string): string {
  const url = new URL(trackingUri);
  url.username = "";
  url.password = "";
  return url.toString().replace(/\/+$/, "");
}

/** What MLflow said of a failed call: `RESOURCE_DOES_NOT_EXIST: Registered Model … not found`. */
async function mlflowError(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null && "message" in body) {
      const code = "error_code" in body ? `${String(body.error_code)}: ` : "";
      return `${code}${String(body.message)}`;
    }
  } catch {
    // Not JSON: the status says it.
  }
  return text.slice(0, 200);
}

export class MlflowHttp {
  readonly base: string;
  readonly shown: string;
  private readonly headers: Record<string, string>;

  constructor(trackingUri: string, auth: MlflowAuth) {
    const url = new URL(trackingUri);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new MlflowRequestFailed(
        `--tracking-uri ${JSON.stringify(trackingUri)}: expected http:// or https://`,
      );
    this.base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
    this.shown = displayUri(trackingUri);
    this.headers = authorization(auth);
  }

  /** GET with retries of what may pass (5xx, 429, the network); a 404 is `undefined`. */
  async get(
    path: string,
    query: Record<string, string>,
    extra: Record<string, string> = {},
  ): Promise<Response | undefined> {
    const url = `${this.base}${path}${Object.keys(query).length === 0 ? "" : `?${new URLSearchParams(query).toString()}`}`;
    const backoff = new Backoff({ baseMs: 250, maxMs: 4000 });
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { ...this.headers, ...extra },
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (e: unknown) {
        if (attempt >= TRIES)
          throw new MlflowRequestFailed(
            `GET ${this.shown}${path}: ${e instanceof Error ? e.message : String(e)}`,
            undefined,
            { cause: e },
          );
        await new Promise((r) => setTimeout(r, backoff.next()));
        continue;
      }
      if (res.ok) return res;
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (isTransientStatus(res.status) && attempt < TRIES) {
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, backoff.next()));
        continue;
      }
      throw new MlflowRequestFailed(
        `GET ${this.shown}${path}: HTTP ${res.status}: ${await mlflowError(res)}${this.hint(res.status)}`,
        res.status,
      );
    }
  }

  private hint(status: number): string {
    if (status !== 401 && status !== 403) return "";
    return this.headers["authorization"] === undefined
      ? " (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
      : " (the credentials from MLFLOW_TRACKING_TOKEN / MLFLOW_TRACKING_USERNAME were refused)";
  }

  /** The JSON of a REST call, or undefined when MLflow answers 404 (no such object). */
  async json(path: string, query: Record<string, string> = {}): Promise<unknown> {
    const res = await this.get(`/api/2.0/mlflow${path}`, query);
    if (res === undefined) return undefined;
    try {
      return (await res.json()) as unknown;
    } catch (e: unknown) {
      throw new MlflowRequestFailed(
        `GET ${this.shown}/api/2.0/mlflow${path}: the answer is not JSON`,
        res.status,
        { cause: e },
      );
    }
  }

  /** The files below `path` of the artifact proxy, as an ArtifactSource. */
  proxySource(path: string): ArtifactSource {
    return new ProxySource(this, path);
  }
}

const PROXY = "/api/2.0/mlflow-artifacts/artifacts";

const encodePath = (path: string): string => path.split("/").map(encodeURIComponent).join("/");

class ProxySource implements ArtifactSource {
  private readonly http: MlflowHttp;
  private readonly root: string;

  constructor(http: MlflowHttp, root: string) {
    this.http = http;
    this.root = root;
  }

  private async listing(path: string): Promise<Array<{ path: string; isDir: boolean }>> {
    const res = await this.http.get(PROXY, { path });
    if (res === undefined) return [];
    return artifactListingOf(await res.json(), `artifact listing of ${JSON.stringify(path)}`);
  }

  async list(): Promise<RemoteObject[]> {
    const found: RemoteObject[] = [];
    const pending = [""];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      for (const entry of await this.listing(dir === "" ? this.root : `${this.root}/${dir}`)) {
        const name = entry.path.split("/").pop() ?? "";
        if (name === "" || name === "." || name === "..")
          throw new ArtifactFetchFailed(
            `mlflow-artifacts:/${this.root}: listed ${JSON.stringify(entry.path)}`,
            false,
          );
        const relative = dir === "" ? name : `${dir}/${name}`;
        if (entry.isDir) pending.push(relative);
        else found.push({ path: relative, locator: `${this.root}/${relative}` });
      }
    }
    // A source naming one file lists nothing: the file itself is the artifact.
    if (found.length === 0 && this.root !== "")
      return [{ path: this.root.split("/").pop() ?? "", locator: this.root }];
    return found;
  }

  async open(object: RemoteObject, offset: number, validator: string | undefined): Promise<OpenedRange> {
    const range: Record<string, string> =
      offset > 0
        ? { range: `bytes=${offset}-`, ...(validator === undefined ? {} : { "if-range": validator }) }
        : {};
    const res = await this.http
      .get(`${PROXY}/${encodePath(object.locator)}`, {}, range)
      .catch((e: unknown) => {
        // The download's own retries decide about another try: only the store's passing troubles.
        const status = e instanceof MlflowRequestFailed ? e.status : undefined;
        throw new ArtifactFetchFailed(
          e instanceof Error ? e.message : String(e),
          status === undefined || isTransientStatus(status),
          status,
          { cause: e },
        );
      });
    if (res === undefined || res.body === null)
      throw new ArtifactFetchFailed(`mlflow-artifacts:/${object.locator}: not found`, false, 404);
    const partial =
      res.status === 206 ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "") : null;
    const length = res.headers.get("content-length");
    const total =
      partial !== null
        ? partial[2] === "*"
          ? undefined
          : Number(partial[2])
        : length === null
          ? undefined
          : Number(length);
    const etag = res.headers.get("etag");
    return {
      body: res.body,
      start: partial === null ? 0 : Number(partial[1]),
      ...(total === undefined ? {} : { total }),
      ...(etag === null ? {} : { validator: etag }),
    };
  }
}
