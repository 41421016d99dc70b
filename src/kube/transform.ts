// What an informer keeps of each object, decided before the object enters its cache (as
// controller-runtime's cache transforms do). A Pod as the API server returns it, with the
// kubelet's and controller-manager's managedFields, holds about 15 times what drift reads.
import type {
  KubernetesObject,
  V1Container,
  V1ContainerStatus,
  V1Deployment,
  V1DeploymentSpec,
  V1DeploymentStatus,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
} from "@kubernetes/client-node";

const TEMPLATE_HASH = "modelchain.io/template-hash";

/** Applied to every listed or watched object before it is cached or handed on. */
export type Transform<T extends KubernetesObject> = (object: T) => T;

/** Drops `metadata.managedFields` (server-side apply bookkeeping no reconciler reads), in place. */
export function withoutManagedFields<T extends KubernetesObject>(object: T): T {
  if (object.metadata?.managedFields !== undefined) delete object.metadata.managedFields;
  return object;
}

/**
 * Strings that many cached objects share — namespaces, label keys and values, images and image
 * IDs, owner names — held once: each decoded object brings its own copy of every string, and
 * at 50,000 Pods the copies of a handful of image references alone are megabytes. Bounded: when
 * full it starts over, so a churn of distinct values costs at most `max` entries.
 */
class Interned {
  private readonly held = new Map<string, string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  of(value: string): string;
  of(value: string | undefined): string | undefined;
  of(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const held = this.held.get(value);
    if (held !== undefined) return held;
    if (this.held.size >= this.max) this.held.clear();
    this.held.set(value, value);
    return value;
  }
}
const interned = new Interned(50_000);

/** An array, or an object as JSON.parse makes them (not a Date, a Map, a class instance). */
function isJsonContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Whether two decoded JSON values (objects, arrays, strings, numbers, booleans, null) are equal.
 * Anything else JSON does not make (a Date from client-node's typed lists) equals only itself.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (!isJsonContainer(a) || !isJsonContainer(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka)
    if (
      !Object.hasOwn(b, k) ||
      !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
    )
      return false;
  return true;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * FNV-1a over a decoded JSON value's strings, keys and scalars, walked in place (no JSON text is
 * built): a bucket number, not an identity (see Shared).
 */
export function hashJson(value: unknown, h = 0x811c9dc5): number {
  if (typeof value === "string") {
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
    return Math.imul(h ^ 0x22, 0x01000193);
  }
  if (typeof value !== "object" || value === null)
    return hashJson(String(value), Math.imul(h ^ 0x3a, 0x01000193));
  if (Array.isArray(value)) {
    for (const v of value) h = hashJson(v, Math.imul(h ^ 0x5b, 0x01000193));
    return h;
  }
  for (const k in value)
    h = hashJson((value as Record<string, unknown>)[k], hashJson(k, Math.imul(h ^ 0x7b, 0x01000193)));
  return h;
}

/**
 * Parts of cached objects that many of them hold alike, held once and frozen: the Pods of one
 * ReplicaSet carry the same labels, owner reference, containers and, once running, the same
 * container statuses, and at 50,000 Pods a copy of each per Pod is about a fifth of the cache.
 * A part is found by a hash of its fields and then compared field by field, so two parts that
 * merely hash alike are never merged. Frozen, because a shared part written through one Pod
 * would change them all: a write throws instead. The table holds its parts weakly: a part no
 * cached object holds any more (its Pods deleted, or changed) is collected, not kept by the table.
 * Bounded: at `max` references the dead ones are swept, and if most are alive it starts over.
 */
class Shared {
  private readonly held = new Map<number, WeakRef<object>[]>();
  private refs = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  of<T extends object>(value: T): T {
    const bucket = hashJson(value) >>> 0;
    let alike = this.held.get(bucket);
    if (alike !== undefined) {
      for (const ref of alike) {
        const held = ref.deref();
        if (held !== undefined && sameJson(held, value)) return held as T;
      }
      alike = this.prune(bucket, alike);
    }
    if (this.refs >= this.max) {
      this.sweep();
      if (this.refs >= (this.max * 3) / 4) {
        this.held.clear();
        this.refs = 0;
      }
      alike = this.held.get(bucket);
    }
    deepFreeze(value);
    const ref = new WeakRef(value);
    if (alike === undefined) this.held.set(bucket, [ref]);
    else alike.push(ref);
    this.refs++;
    return value;
  }
  /** The bucket's live references (the bucket is dropped when none is left). */
  private prune(bucket: number, alike: WeakRef<object>[]): WeakRef<object>[] | undefined {
    const live = alike.filter((r) => r.deref() !== undefined);
    this.refs -= alike.length - live.length;
    if (live.length === 0) this.held.delete(bucket);
    else if (live.length < alike.length) this.held.set(bucket, live);
    return live.length === 0 ? undefined : live;
  }
  private sweep(): void {
    for (const [bucket, alike] of this.held) this.prune(bucket, alike);
  }
}
const shared = new Shared(50_000);

function internedRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in r) out[interned.of(k)] = interned.of(r[k] as string);
  return out;
}

const ownerReference = (r: V1OwnerReference): V1OwnerReference => ({
  apiVersion: interned.of(r.apiVersion),
  kind: interned.of(r.kind),
  name: interned.of(r.name),
  uid: interned.of(r.uid),
  ...(r.controller === undefined ? {} : { controller: r.controller }),
  ...(r.blockOwnerDeletion === undefined ? {} : { blockOwnerDeletion: r.blockOwnerDeletion }),
});

const container = (c: V1Container): V1Container => ({
  name: interned.of(c.name),
  ...(c.image === undefined ? {} : { image: interned.of(c.image) }),
});

function containerStatus(s: V1ContainerStatus, withState: boolean): V1ContainerStatus {
  return {
    name: interned.of(s.name),
    image: interned.of(s.image),
    imageID: interned.of(s.imageID),
    ready: s.ready,
    restartCount: s.restartCount,
    // Started: the kubelet created the container, so its image volumes were pulled and mounted.
    ...(s.started === undefined ? {} : { started: s.started }),
    // Init containers report their verdict (exit code, termination message) in their state.
    ...(withState && s.state !== undefined ? { state: s.state } : {}),
    ...(withState && s.lastState !== undefined ? { lastState: s.lastState } : {}),
  };
}

/**
 * A Pod reduced to what the reconcilers read: identity and labels, the containers' names and
 * images as specified, what the kubelet reports running (image IDs), and the init containers'
 * states. Everything else — volumes, env, probes, conditions, managedFields — is dropped, and
 * the strings Pods share are held once (see Interned), and so are the parts the Pods of one
 * ReplicaSet hold alike: labels, the template-hash annotation, owners, containers and container
 * statuses (see Shared).
 */
export function podForDrift(pod: V1Pod): V1Pod {
  const m = pod.metadata ?? {};
  const s = pod.status;
  return {
    ...(pod.apiVersion === undefined ? {} : { apiVersion: pod.apiVersion }),
    ...(pod.kind === undefined ? {} : { kind: pod.kind }),
    metadata: {
      name: m.name,
      namespace: interned.of(m.namespace),
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.labels === undefined ? {} : { labels: shared.of(internedRecord(m.labels)) }),
      // Which rollout of an owned Deployment the Pod belongs to (its artifact outcome is that rollout's).
      ...(m.annotations?.[TEMPLATE_HASH] === undefined
        ? {}
        : { annotations: shared.of({ [TEMPLATE_HASH]: interned.of(m.annotations[TEMPLATE_HASH]) }) }),
      ...(m.ownerReferences === undefined
        ? {}
        : { ownerReferences: shared.of(m.ownerReferences.map(ownerReference)) }),
      ...(m.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp }),
    },
    spec: shared.of({
      containers: (pod.spec?.containers ?? []).map(container),
      ...(pod.spec?.initContainers === undefined
        ? {}
        : { initContainers: pod.spec.initContainers.map(container) }),
    }),
    ...(s === undefined
      ? {}
      : {
          status: {
            ...(s.phase === undefined ? {} : { phase: interned.of(s.phase) }),
            ...(s.containerStatuses === undefined
              ? {}
              : { containerStatuses: shared.of(s.containerStatuses.map((c) => containerStatus(c, false))) }),
            ...(s.initContainerStatuses === undefined
              ? {}
              : // Not shared: their states (container IDs, times, messages) are each Pod's own.
                { initContainerStatuses: s.initContainerStatuses.map((c) => containerStatus(c, true)) }),
          },
        }),
  };
}

/** The annotations of a labelled Deployment a reconciler reads: modelchain's own. */
const keptAnnotations = (a: Record<string, string> | undefined): Record<string, string> | undefined => {
  if (a === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const k in a) if (k.startsWith("modelchain.io/")) out[k] = a[k] as string;
  return out;
};

const servingContainer = (c: V1Container): V1Container => ({
  name: interned.of(c.name),
  ...(c.image === undefined ? {} : { image: interned.of(c.image) }),
  ...(c.command === undefined ? {} : { command: c.command }),
  ...(c.args === undefined ? {} : { args: c.args }),
  ...(c.env === undefined ? {} : { env: c.env }),
  ...(c.envFrom === undefined ? {} : { envFrom: c.envFrom }),
  ...(c.resources === undefined ? {} : { resources: c.resources }),
});

/**
 * A Deployment that opted in with the model-version label, reduced to what its reconciler reads:
 * identity, labels and modelchain's annotations (not kubectl's last-applied copy of the whole
 * object), replicas, selector, the template's modelchain annotations, its containers' images and
 * serving config (command, args, env, envFrom, resources), its volumes, and the rollout status
 * (replica counts, observed generation, the conditions' type, status and reason). Probes, ports,
 * scheduling and managedFields are dropped.
 */
export function deploymentForRollouts(d: V1Deployment): V1Deployment {
  return {
    ...(d.apiVersion === undefined ? {} : { apiVersion: d.apiVersion }),
    ...(d.kind === undefined ? {} : { kind: d.kind }),
    metadata: rolloutMetadata(d.metadata ?? {}),
    ...(d.spec === undefined ? {} : { spec: rolloutSpec(d.spec) }),
    ...(d.status === undefined ? {} : { status: rolloutStatus(d.status) }),
  };
}

function rolloutMetadata(m: V1ObjectMeta): V1ObjectMeta {
  const annotations = keptAnnotations(m.annotations);
  return {
    name: m.name,
    namespace: interned.of(m.namespace),
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    ...(m.generation === undefined ? {} : { generation: m.generation }),
    ...(m.labels === undefined ? {} : { labels: internedRecord(m.labels) }),
    ...(annotations === undefined ? {} : { annotations }),
    ...(m.ownerReferences === undefined ? {} : { ownerReferences: m.ownerReferences.map(ownerReference) }),
    ...(m.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp }),
  };
}

function rolloutSpec(spec: V1DeploymentSpec): V1DeploymentSpec {
  const template = spec.template;
  const pod = template.spec;
  const labels = template.metadata?.labels;
  const annotations = keptAnnotations(template.metadata?.annotations);
  return {
    ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
    selector: spec.selector,
    template: {
      metadata: {
        ...(labels === undefined ? {} : { labels: internedRecord(labels) }),
        ...(annotations === undefined ? {} : { annotations }),
      },
      spec: {
        containers: (pod?.containers ?? []).map(servingContainer),
        ...(pod?.initContainers === undefined
          ? {}
          : { initContainers: pod.initContainers.map(servingContainer) }),
        ...(pod?.volumes === undefined ? {} : { volumes: pod.volumes }),
      },
    },
  };
}

function rolloutStatus(s: V1DeploymentStatus): V1DeploymentStatus {
  return {
    ...(s.observedGeneration === undefined ? {} : { observedGeneration: s.observedGeneration }),
    ...(s.replicas === undefined ? {} : { replicas: s.replicas }),
    ...(s.updatedReplicas === undefined ? {} : { updatedReplicas: s.updatedReplicas }),
    ...(s.readyReplicas === undefined ? {} : { readyReplicas: s.readyReplicas }),
    ...(s.availableReplicas === undefined ? {} : { availableReplicas: s.availableReplicas }),
    ...(s.conditions === undefined
      ? {}
      : {
          conditions: s.conditions.map((c) => ({
            type: interned.of(c.type),
            status: interned.of(c.status),
            ...(c.reason === undefined ? {} : { reason: interned.of(c.reason) }),
          })),
        }),
  };
}
