// `--source kube`: the verified cache fed by informers (ModelVersions, ModelTrustPolicies,
// Namespaces, and the ConfigMaps/Secrets labelled as trust material), and GETs with a deadline for what the informers have not shown yet.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { BackoffPolicy } from "../backoff/index.ts";
import { listOf, watchResource, type Watched } from "../kube/index.ts";
import type { VerifiedCache } from "./cache.ts";
import { materialObject, TRUST_MATERIAL_LABEL } from "./material.ts";
import type { MissLookup } from "./reviewer.ts";

const GROUP = "modelchain.io";
const VERSION = "v1alpha1";

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
  /** Told of every informer failure (each informer restarts on its own) and cache complaint. */
  onError(error: Error): void;
  /** Informer restart delays; the shared informer's default unless given. */
  backoff?: BackoffPolicy;
}

export interface KubeSource {
  lookup: MissLookup;
  /** Resolves once every informer has listed; the cache is then marked synced. */
  synced: Promise<void>;
  /** Undefined while every informer has listed and is watching; else each one's problem, joined. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

interface Feed {
  resource: string;
  path: string;
  labelSelector?: string;
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
    ...materialFeeds(core, cache),
    {
      resource: "namespaces",
      path: "/api/v1/namespaces",
      list: () => core.listNamespace(),
      put: (o) => cache.putNamespace(metaOf(o).name, metaOf(o).labels),
      remove: (o) => cache.deleteNamespace(metaOf(o).name),
    },
  ];
}

function materialFeeds<MV, P>(core: CoreV1Api, cache: VerifiedCache<MV, P>): Feed[] {
  const put = (o: KubernetesObject): void => {
    const m = materialObject(o);
    if (m !== undefined) cache.putMaterial(m.kind, m.namespace, m.name, m.data);
  };
  const labelSelector = TRUST_MATERIAL_LABEL;
  return [
    {
      resource: "configmaps",
      path: "/api/v1/configmaps",
      labelSelector,
      list: () => core.listConfigMapForAllNamespaces({ labelSelector }),
      // Informer objects lack kind; name it so materialObject reads the right fields.
      put: (o) => put({ ...o, kind: "ConfigMap" }),
      remove: (o) => cache.deleteMaterial("ConfigMap", metaOf(o).namespace, metaOf(o).name),
    },
    {
      resource: "secrets",
      path: "/api/v1/secrets",
      labelSelector,
      list: () => core.listSecretForAllNamespaces({ labelSelector }),
      put: (o) => put({ ...o, kind: "Secret" }),
      remove: (o) => cache.deleteMaterial("Secret", metaOf(o).namespace, metaOf(o).name),
    },
  ];
}

function watch<MV, P>(
  kc: KubeConfig,
  feed: Feed,
  options: KubeSourceOptions<MV, P>,
): Watched<KubernetesObject> {
  return watchResource<KubernetesObject>({
    resource: feed.resource,
    kubeConfig: kc,
    path: feed.path,
    ...(feed.labelSelector === undefined ? {} : { labelSelector: feed.labelSelector }),
    list: async () => listOf(await feed.list(), feed.resource),
    onChange: feed.put,
    onDelete: feed.remove,
    onError: (e) => options.onError(e),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
  });
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

/** Starts the informers and returns at once; `synced` says when each has listed. */
export function watchKubeSource<MV, P>(options: KubeSourceOptions<MV, P>): KubeSource {
  const { kubeConfig: kc, cache, onError } = options;
  const informers = feeds(kc, cache, onError).map((f) => watch(kc, f, options));
  const synced = Promise.all(informers.map((i) => i.synced)).then(() => cache.markSynced());
  return {
    lookup: missLookup(kc),
    synced,
    problem: () => {
      const problems = informers.flatMap((i) => i.problem() ?? []);
      return problems.length === 0 ? undefined : problems.join("; ");
    },
    stop: async () => {
      await Promise.all(informers.map((i) => i.stop()));
    },
  };
}

/** Starts the informers; resolves once each has listed (the cache is then marked synced). */
export async function startKubeSource<MV, P>(options: KubeSourceOptions<MV, P>): Promise<KubeSource> {
  const source = watchKubeSource(options);
  await source.synced;
  return source;
}
