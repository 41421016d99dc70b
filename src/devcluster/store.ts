// The object store of the development API server: objects by resource, one resourceVersion
// counter, and a bounded event history so watches resume from a resourceVersion or get
// 410 Gone when it is older than the history (as etcd compaction does).
import { createHash } from "node:crypto";

// Objects are whatever JSON clients send: untyped on purpose (the tests and the demo read fields
// of every kind through it).
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type KubeObject = Record<string, any> & { metadata: Record<string, any> };

export interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  status: boolean;
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  rv: number;
  resource: string;
}

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export const resourceId = (r: Pick<Resource, "group" | "version" | "plural">): string =>
  `${r.group}/${r.version}/${r.plural}`;
const objectKey = (namespace: string | undefined, name: string) => `${namespace ?? ""}/${name}`;

export class Store {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: WatchEvent[] = [];
  private readonly listeners = new Set<(e: WatchEvent) => void>();
  private rv = 1;
  private oldestRv = 1;
  readonly historyLimit: number;
  /** Deterministic uids (hash of kind/namespace/name) make repeated demos record the same keys. */
  private readonly uidSeed: string | undefined;

  constructor(options: { historyLimit?: number; uidSeed?: string } = {}) {
    this.historyLimit = options.historyLimit ?? 10_000;
    this.uidSeed = options.uidSeed;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResourceVersion(): number {
    return this.oldestRv;
  }

  private table(resource: string): Map<string, KubeObject> {
    let t = this.objects.get(resource);
    if (t === undefined) {
      t = new Map();
      this.objects.set(resource, t);
    }
    return t;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.table(resource).get(objectKey(namespace, name));
  }

  list(resource: string, namespace?: string): KubeObject[] {
    const all = [...this.table(resource).values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  uidFor(kind: string, namespace: string | undefined, name: string): string {
    if (this.uidSeed === undefined) return crypto.randomUUID();
    const h = createHash("sha256")
      .update(`${this.uidSeed}/${kind}/${namespace ?? ""}/${name}`)
      .digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }

  /** Writes (or removes, with `deleted`) an object, bumping the resourceVersion and notifying watchers. */
  put(resource: string, object: KubeObject, type: WatchEvent["type"]): KubeObject {
    const rv = ++this.rv;
    object.metadata.resourceVersion = String(rv);
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    if (type === "DELETED") this.table(resource).delete(key);
    else this.table(resource).set(key, object);
    const event: WatchEvent = { type, object, rv, resource };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.compact(this.history.length - this.historyLimit);
    for (const listener of this.listeners) listener(event);
    return object;
  }

  /**
   * Drops the oldest `count` events: watches from before them get 410 Gone. Without a count,
   * forgets everything up to now, so even a watcher that saw the latest event must relist.
   */
  compact(count?: number): void {
    if (count === undefined) {
      this.history.length = 0;
      this.oldestRv = this.rv + 2;
      return;
    }
    const last = this.history.splice(0, count).at(-1);
    if (last !== undefined) this.oldestRv = last.rv + 1;
  }

  /** Events after `rv`, or undefined when `rv` is older than the history kept. */
  since(rv: number): WatchEvent[] | undefined {
    if (rv + 1 < this.oldestRv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  subscribe(listener: (e: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
