// `--source kube`: the verified cache fed by informers (ModelVersions, ModelTrustPolicies,
// Namespaces), and GETs with a deadline for what the informers have not shown yet.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { VerifiedCache } from "./cache.ts";
import type { MissLookup } from "./reviewer.ts";
import { isRecord } from "./review.ts";

const GROUP = "modelchain.io";
const VERSION = "v1alpha1";

/** An informer stopped with an error; it is restarted after `retryMs`. */
export class InformerFailed extends Error {
  readonly resource: string;
  constructor(resource: string, options: ErrorOptions) {
    super(
      `webhook informer for ${resource} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = "InformerFailed";
    this.resource = resource;
  }
}

function asList(value: unknown, resource: string): KubernetesListObject<KubernetesObject> {
  if (!isRecord(value) || !Array.isArray(value["items"]) || !isRecord(value["metadata"])) {
    throw new InformerFailed(resource, { cause: new Error("list response has no items/metadata") });
  }
  const items = value["items"].filter(isRecord);
  return {
    apiVersion: String(value["apiVersion"] ?? ""),
    kind: String(value["kind"] ?? ""),
    metadata: value["metadata"],
    items,
  };
}

function metaOf(o: KubernetesObject): { namespace: string; name: string; labels: Record<string, string> } {
  return {
    namespace: o.metadata?.namespace ?? "",
    name: o.metadata?.name ?? "",
    labels: o.metadata?.labels ?? {},
  };
}

export interface KubeSourceOptions<MV, P> {
  kubeConfig: KubeConfig;
  cache: VerifiedCache<MV, P>;
  onError(error: Error): void;
  retryMs?: number;
}

export interface KubeSource {
  lookup: MissLookup;
  stop(): Promise<void>;
}

interface Feed {
  resource: string;
  path: string;
  list(): Promise<unknown>;
  put(o: KubernetesObject): void;
  remove(o: KubernetesObject): void;
}

function feeds<MV, P>(kc: KubeConfig, cache: VerifiedCache<MV, P>, report: (e: Error) => void): Feed[] {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const complain = (what: string) => (problem: string | undefined) => {
    if (problem !== undefined) report(new Error(`webhook cache: ${what} ${problem}`));
  };
  return [
    {
      resource: "modelversions",
      path: `/apis/${GROUP}/${VERSION}/modelversions`,
      list: () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: "modelversions" }),
      put: (o) => complain(`ModelVersion ${metaOf(o).namespace}/${metaOf(o).name}`)(cache.putModelVersion(o)),
      remove: (o) => cache.deleteModelVersion(metaOf(o).namespace, metaOf(o).name),
    },
    {
      resource: "modeltrustpolicies",
      path: `/apis/${GROUP}/${VERSION}/modeltrustpolicies`,
      list: () =>
        custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: "modeltrustpolicies" }),
      put: (o) => complain(`ModelTrustPolicy ${metaOf(o).name}`)(cache.putPolicy(o)),
      remove: (o) => cache.deletePolicy(metaOf(o).name),
    },
    {
      resource: "namespaces",
      path: "/api/v1/namespaces",
      list: () => core.listNamespace(),
      put: (o) => cache.putNamespace(metaOf(o).name, metaOf(o).labels),
      remove: (o) => cache.deleteNamespace(metaOf(o).name),
    },
  ];
}

function wire(
  kc: KubeConfig,
  feed: Feed,
  report: (e: Error) => void,
  retryMs: number,
): Informer<KubernetesObject> {
  const informer = makeInformer<KubernetesObject>(kc, feed.path, async () =>
    asList(await feed.list(), feed.resource),
  );
  informer.on("add", feed.put);
  informer.on("update", feed.put);
  informer.on("delete", feed.remove);
  // client-node stops an informer on any error but 410 Gone; restarting it is ours to do.
  informer.on("error", (e: unknown) => {
    report(new InformerFailed(feed.resource, { cause: e }));
    setTimeout(
      () =>
        informer
          .start()
          .catch((again: unknown) => report(new InformerFailed(feed.resource, { cause: again }))),
      retryMs,
    ).unref();
  });
  return informer;
}

function notFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

function missLookup(kc: KubeConfig): MissLookup {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    modelVersion: async (namespace, name) => {
      try {
        const found: unknown = await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "modelversions",
          name,
        });
        return found;
      } catch (e: unknown) {
        if (notFound(e)) return undefined;
        throw e;
      }
    },
    namespaceLabels: async (name) => {
      try {
        return (await core.readNamespace({ name })).metadata?.labels ?? {};
      } catch (e: unknown) {
        if (notFound(e)) return undefined;
        throw e;
      }
    },
  };
}

/** Starts the three informers; resolves once each has listed (the cache is then marked synced). */
export async function startKubeSource<MV, P>(options: KubeSourceOptions<MV, P>): Promise<KubeSource> {
  const { kubeConfig: kc, cache, onError } = options;
  const informers = feeds(kc, cache, onError).map((f) => wire(kc, f, onError, options.retryMs ?? 5_000));
  await Promise.all(informers.map((i) => i.start()));
  cache.markSynced();
  return {
    lookup: missLookup(kc),
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}
