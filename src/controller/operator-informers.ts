// The operator's informers: the modelchain resources and namespaces, and the workloads (Pods with
// a model-version label, labelled Deployments, and the Deployments and Services we own). Each
// change goes to the callback of its kind; nothing here decides anything.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import {
  GROUP,
  MODEL_DEPLOYMENT,
  MODEL_TRUST_POLICY,
  MODEL_VERSION,
  MODEL_VERSION_LABEL,
  VERSION,
} from "../api/index.ts";
import { deploymentForRollouts, podForDrift, rawList, type ListPage } from "../kube/index.ts";
import { watchResource, type Watched } from "./informers.ts";
import { MANAGED_BY } from "./deployment-spec.ts";
import type { OperatorOptions } from "./operator.ts";

function asList(value: unknown): KubernetesListObject<KubernetesObject> {
  if (typeof value !== "object" || value === null || !("items" in value) || !Array.isArray(value.items))
    throw new Error("list response has no items");
  const metadata =
    "metadata" in value && typeof value.metadata === "object" && value.metadata !== null
      ? value.metadata
      : {};
  return { apiVersion: "v1", kind: "List", metadata, items: value.items as KubernetesObject[] };
}

/** A list page as client-node's list calls take it. */
const pageOf = (page: ListPage | undefined): { limit?: number; _continue?: string } =>
  page === undefined
    ? {}
    : { limit: page.limit, ...(page.continue === undefined ? {} : { _continue: page.continue }) };

export interface Informers {
  mvs: Watched<KubernetesObject>;
  mtps: Watched<KubernetesObject>;
  mds: Watched<KubernetesObject>;
  namespaces: Watched<KubernetesObject>;
  deployments: Watched<V1Deployment>;
  services: Watched<V1Service>;
  pods: Watched<V1Pod>;
  labelled: Watched<V1Deployment>;
}

/** Label selectors of the Deployments we own, and of those that opted in with the label and are not ours. */
function deploymentSelectors(): { managedBy: string; labelled: string } {
  const managedBy = Object.entries(MANAGED_BY)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const notOurs = Object.entries(MANAGED_BY)
    .map(([k, v]) => `${k}!=${v}`)
    .join(",");
  return { managedBy, labelled: `${MODEL_VERSION_LABEL},${notOurs}` };
}

export interface InformerCallbacks {
  mv(o: KubernetesObject): void;
  policy(o: KubernetesObject): void;
  md(o: KubernetesObject): void;
  namespace(o: KubernetesObject): void;
  deployment(o: V1Deployment): void;
  service(o: V1Service): void;
  pod(o: V1Pod): void;
  podGone(o: V1Pod): void;
  labelled(o: V1Deployment): void;
  labelledGone(o: V1Deployment): void;
}

type Context = Pick<OperatorOptions, "kubeConfig" | "log">;

/** The modelchain resources (cluster-wide) and namespaces. */
function resourceInformers(opts: Context, on: InformerCallbacks) {
  const kc = opts.kubeConfig;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const crd = (plural: string, handler: (o: KubernetesObject) => void) =>
    watchResource({
      name: plural,
      kubeConfig: kc,
      path: `/apis/${GROUP}/${VERSION}/${plural}`,
      list: async (page) =>
        asList(
          await custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural,
            ...pageOf(page),
          }),
        ),
      onChange: handler,
      onDelete: handler,
      log: opts.log,
    });
  return {
    mvs: crd(MODEL_VERSION.plural, on.mv),
    mtps: crd(MODEL_TRUST_POLICY.plural, on.policy),
    mds: crd(MODEL_DEPLOYMENT.plural, on.md),
    namespaces: watchResource({
      name: "namespaces",
      kubeConfig: kc,
      path: "/api/v1/namespaces",
      list: (page) => core.listNamespace({ ...pageOf(page) }),
      onChange: on.namespace,
      onDelete: on.namespace,
      log: opts.log,
    }),
  };
}

/** Pods with a model-version label, labelled Deployments, and the Deployments and Services we own. */
function workloadInformers(opts: Context, on: InformerCallbacks) {
  const kc = opts.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const { managedBy, labelled } = deploymentSelectors();
  return {
    // Pods that carry a model-version label, trimmed to what drift and the reconcilers read.
    pods: watchResource<V1Pod>({
      name: "pods",
      kubeConfig: kc,
      path: "/api/v1/pods",
      // Parsed JSON, not client-node's model classes: see rawList.
      list: rawList<V1Pod>(kc, {
        resource: "pods",
        path: "/api/v1/pods",
        labelSelector: MODEL_VERSION_LABEL,
      }),
      labelSelector: MODEL_VERSION_LABEL,
      transform: podForDrift,
      onChange: on.pod,
      onDelete: on.podGone,
      log: opts.log,
    }),
    labelled: watchResource<V1Deployment>({
      name: "labelled-deployments",
      kubeConfig: kc,
      path: "/apis/apps/v1/deployments",
      list: rawList<V1Deployment>(kc, {
        resource: "labelled-deployments",
        path: "/apis/apps/v1/deployments",
        labelSelector: labelled,
      }),
      labelSelector: labelled,
      // Trimmed to what the labelled-Deployment reconciler reads.
      transform: deploymentForRollouts,
      onChange: on.labelled,
      onDelete: on.labelledGone,
      log: opts.log,
    }),
    deployments: watchResource<V1Deployment>({
      name: "deployments",
      kubeConfig: kc,
      path: "/apis/apps/v1/deployments",
      list: (page) => apps.listDeploymentForAllNamespaces({ labelSelector: managedBy, ...pageOf(page) }),
      labelSelector: managedBy,
      onChange: on.deployment,
      onDelete: on.deployment,
      log: opts.log,
    }),
    // The Services we own: an edit or a deletion wakes their ModelDeployment, which puts them back.
    services: watchResource<V1Service>({
      name: "services",
      kubeConfig: kc,
      path: "/api/v1/services",
      list: (page) => core.listServiceForAllNamespaces({ labelSelector: managedBy, ...pageOf(page) }),
      labelSelector: managedBy,
      onChange: on.service,
      onDelete: on.service,
      log: opts.log,
    }),
  };
}

export function startInformers(opts: Context, on: InformerCallbacks): Informers {
  return { ...resourceInformers(opts, on), ...workloadInformers(opts, on) };
}
