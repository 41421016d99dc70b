// HTTP front of the development API server: discovery, list (with selectors and pages), watch (resume
// by resourceVersion, bookmarks, 410 Gone), get, and the writes in handlers.ts.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { apiVersionOf, type ResourceRegistry } from "./resources.ts";
import type { Handlers, Target } from "./handlers.ts";
import { ApiError, resourceId, type KubeObject, type Store, type WatchEvent } from "./store.ts";
import { matchesSelectors } from "./selectors.ts";

const MAX_BODY = 3 * 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function statusOf(e: ApiError): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: e.message,
    reason: e.reason,
    code: e.code,
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY) throw new ApiError(413, "RequestEntityTooLarge", "request body too large");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return {};
  try {
    return (req.headers["content-type"] ?? "").includes("yaml") ? parseYaml(text) : JSON.parse(text);
  } catch (e: unknown) {
    throw new ApiError(400, "BadRequest", `body is not valid: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** /api/v1/namespaces/ns/pods/x/status → the resource, namespace, name and subresource. */
export function parsePath(registry: ResourceRegistry, path: string): Target | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  let group = "";
  let version: string | undefined;
  let rest: string[];
  if (parts[0] === "api") [version, rest] = [parts[1], parts.slice(2)];
  else if (parts[0] === "apis") [group, version, rest] = [parts[1] ?? "", parts[2], parts.slice(3)];
  else return undefined;
  if (version === undefined || rest.length === 0) return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" &&
    rest.length >= 3 &&
    !(group === "" && rest.length === 3 && (rest[2] === "status" || rest[2] === "finalize"))
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = registry.find(group, version, rest[0] ?? "");
  if (resource === undefined) return undefined;
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}

function discovery(registry: ResourceRegistry, path: string): unknown | undefined {
  if (path === "/version")
    return { major: "1", minor: "36", gitVersion: "v1.36.0-devcluster", platform: "node" };
  if (path === "/api") return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
  const groups = [
    ...new Set(
      registry
        .all()
        .filter((r) => r.group !== "")
        .map((r) => `${r.group}/${r.version}`),
    ),
  ];
  if (path === "/apis") {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: groups.map((gv) => ({
        name: gv.split("/")[0],
        versions: [{ groupVersion: gv, version: gv.split("/")[1] }],
        preferredVersion: { groupVersion: gv, version: gv.split("/")[1] },
      })),
    };
  }
  const gv = path === "/api/v1" ? "v1" : path.startsWith("/apis/") ? path.slice("/apis/".length) : undefined;
  const resources = registry.all().filter((r) => apiVersionOf(r) === gv);
  if (gv === undefined || resources.length === 0) return undefined;
  const verbs = ["create", "delete", "get", "list", "patch", "update", "watch"];
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: gv,
    resources: resources.flatMap((r) => [
      { name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs },
      ...(r.status
        ? [
            {
              name: `${r.plural}/status`,
              singularName: "",
              namespaced: r.namespaced,
              kind: r.kind,
              verbs: ["get", "patch", "update"],
            },
          ]
        : []),
    ]),
  };
}

function watch(store: Store, t: Target, query: URLSearchParams, res: ServerResponse): void {
  const id = resourceId(t.resource);
  const selected = (o: KubeObject) =>
    (t.namespace === undefined || o.metadata.namespace === t.namespace) &&
    matchesSelectors(o, query.get("labelSelector"), query.get("fieldSelector"));
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  // Clients (fetch) wait for the headers before they read the stream.
  res.flushHeaders();
  const line = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const rv = Number(query.get("resourceVersion") ?? "0");
  if (rv > 0) {
    const missed = store.since(rv);
    if (missed === undefined) {
      line("ERROR", {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `too old resource version: ${rv} (${store.oldestResourceVersion})`,
        reason: "Expired",
        code: 410,
      });
      res.end();
      return;
    }
    for (const e of missed) if (e.resource === id && selected(e.object)) line(e.type, e.object);
  } else {
    for (const o of store.list(id)) if (selected(o)) line("ADDED", o);
  }
  const unsubscribe = store.subscribe((e: WatchEvent) => {
    if (e.resource === id && selected(e.object)) line(e.type, e.object);
  });
  const bookmarks =
    query.get("allowWatchBookmarks") === "true"
      ? setInterval(
          () =>
            line("BOOKMARK", {
              kind: t.resource.kind,
              apiVersion: apiVersionOf(t.resource),
              metadata: { resourceVersion: String(store.resourceVersion) },
            }),
          1000,
        )
      : undefined;
  const timeout = setTimeout(() => res.end(), Number(query.get("timeoutSeconds") ?? "1800") * 1000);
  const cleanup = () => {
    unsubscribe();
    clearInterval(bookmarks);
    clearTimeout(timeout);
  };
  res.on("close", cleanup);
  watchers.add(res);
  res.on("close", () => watchers.delete(res));
}

/** Open watch streams, so a test can end them all at once (`expireWatches`). */
export const watchers = new Set<ServerResponse>();

/** Lists being read page by page: the objects selected for the first page, by continue token. */
const pagedLists = new Map<string, KubeObject[]>();
const PAGED_LISTS_KEPT = 16;
let pagedListSerial = 0;

/**
 * A list, or with `limit` one page of it. Later pages come from the objects selected for the
 * first page (a snapshot, as etcd serves them) while it is among the last 16 lists paged;
 * after that, from the store as it is then, at the same offset (an object created or deleted
 * since can shift the rest by one). Every page carries the first page's resourceVersion.
 */
function listOf(store: Store, t: Target, params: URLSearchParams): unknown {
  const select = () =>
    store
      .list(resourceId(t.resource), t.namespace)
      .filter((o) => matchesSelectors(o, params.get("labelSelector"), params.get("fieldSelector")));
  const limit = Number(params.get("limit") ?? "0");
  const token = params.get("continue");
  let from = 0;
  let rv = String(store.resourceVersion);
  let items: KubeObject[];
  if (token !== null && token !== "") {
    const parsed = /^(\d+)\.(\d+)\.\d+$/.exec(Buffer.from(token, "base64url").toString());
    if (parsed === null) throw new ApiError(400, "BadRequest", `continue token is not valid: ${token}`);
    [rv, from] = [parsed[1] ?? rv, Number(parsed[2])];
    items = pagedLists.get(token) ?? select();
    pagedLists.delete(token);
  } else items = select();
  const to = Number.isInteger(limit) && limit > 0 ? from + limit : items.length;
  const rest = items.length - Math.min(to, items.length);
  let next: string | undefined;
  if (rest > 0) {
    next = Buffer.from(`${rv}.${to}.${++pagedListSerial}`).toString("base64url");
    pagedLists.set(next, items);
    for (const old of pagedLists.keys()) {
      if (pagedLists.size <= PAGED_LISTS_KEPT) break;
      pagedLists.delete(old);
    }
  }
  return {
    apiVersion: apiVersionOf(t.resource),
    kind: `${t.resource.kind}List`,
    metadata: {
      resourceVersion: rv,
      ...(next === undefined ? {} : { continue: next, remainingItemCount: rest }),
    },
    items: from === 0 && rest === 0 ? items : items.slice(from, to),
  };
}

/** The result of a writing verb, or undefined for a verb the server does not know. */
function write(handlers: Handlers, t: Target, req: IncomingMessage, url: URL, body: unknown): unknown {
  switch (req.method) {
    case "POST":
      return handlers.create(t, body as KubeObject);
    case "PUT":
      return handlers.update(t, body as KubeObject);
    case "PATCH":
      if (url.searchParams.get("dryRun") === "All")
        return handlers.dryRunPatch(t, req.headers["content-type"] ?? "", body);
      return handlers.patch(
        t,
        req.headers["content-type"] ?? "",
        body,
        url.searchParams.get("fieldManager") ?? undefined,
      );
    case "DELETE":
      return handlers.remove(t);
    default:
      return undefined;
  }
}

export function makeRequestHandler(store: Store, registry: ResourceRegistry, handlers: Handlers) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://devcluster");
    try {
      if (req.method === "GET") {
        const d = discovery(registry, url.pathname);
        if (d !== undefined) return send(res, 200, d);
      }
      const t = parsePath(registry, url.pathname);
      if (t === undefined)
        throw new ApiError(
          404,
          "NotFound",
          `the server could not find the requested resource (${url.pathname})`,
        );
      const id = resourceId(t.resource);
      if (req.method === "GET" && t.name === undefined) {
        if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1")
          return watch(store, t, url.searchParams, res);
        return send(res, 200, listOf(store, t, url.searchParams));
      }
      if (req.method === "GET") {
        const o = store.get(id, t.namespace, t.name ?? "");
        if (o === undefined)
          throw new ApiError(404, "NotFound", `${t.resource.plural} "${t.name}" not found`);
        return send(res, 200, o);
      }
      const body = await readBody(req);
      const written = write(handlers, t, req, url, body);
      if (written !== undefined) return send(res, req.method === "POST" ? 201 : 200, written);
      throw new ApiError(405, "MethodNotAllowed", `${req.method} is not supported`);
    } catch (e: unknown) {
      const error =
        e instanceof ApiError
          ? e
          : new ApiError(500, "InternalError", e instanceof Error ? e.message : String(e));
      if (!res.headersSent) send(res, error.code, statusOf(error));
      else res.end();
    }
  };
}
