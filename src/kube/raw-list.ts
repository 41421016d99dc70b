// A list page as the API server sent it, parsed once. client-node's typed list calls parse the
// JSON and then copy every object into its model classes (ObjectSerializer): at 50,000 Pods that
// copy is a third of the first sync's CPU and doubles what a page holds until it is transformed.
// Watch events reach the informer as plain parsed JSON already; listed objects now do too.
import {
  ApiException,
  HttpMethod,
  RequestContext,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { fetch } from "undici";
import type { PagedList } from "./informer.ts";
import { listOf } from "./list.ts";

export interface RawListOptions {
  /** Names the resource in errors, e.g. "pods". */
  resource: string;
  /** The collection's path, e.g. /api/v1/pods. */
  path: string;
  labelSelector?: string;
}

/** A PagedList that GETs `path` with the label selector and page, through `kc`'s authentication and connections. */
export function rawList<T extends KubernetesObject>(kc: KubeConfig, opts: RawListOptions): PagedList<T> {
  return async (page) => {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error(`list of ${opts.resource}: the kubeconfig has no current cluster`);
    const url = new URL(cluster.server + opts.path);
    if (opts.labelSelector !== undefined) url.searchParams.set("labelSelector", opts.labelSelector);
    if (page !== undefined) {
      url.searchParams.set("limit", String(page.limit));
      if (page.continue !== undefined) url.searchParams.set("continue", page.continue);
    }
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    const dispatcher = ctx.getDispatcher();
    const response = await fetch(url, {
      headers: { ...ctx.getHeaders(), accept: "application/json" },
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new ApiException(
        response.status,
        `list of ${opts.resource}: HTTP ${response.status}`,
        text,
        Object.fromEntries(response.headers),
      );
    return listOf(JSON.parse(text) as unknown, opts.resource) as KubernetesListObject<T>;
  };
}
