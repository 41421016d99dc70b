import {
  makeInformer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
  type Informer,
} from "@kubernetes/client-node";
import type { Logger } from "pino";

/** An informer's cache plus a promise that resolves after its first full list. */
export interface Watched<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface WatchOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  onChange(object: T): void;
  onDelete(object: T): void;
  log: Logger;
  /** Restart delays after an informer error: doubled each time, reset by a successful start. */
  restartBaseMs?: number;
}

/**
 * client-node's informer owns list-then-watch, relisting on 410 Gone and bookmarks; a
 * non-410 error stops it, and restarting (with backoff) is the caller's job: this one's.
 */
export function watchResource<T extends KubernetesObject>(opts: WatchOptions<T>): Watched<T> {
  const informer: Informer<T> & ObjectCache<T> = makeInformer(
    opts.kubeConfig,
    opts.path,
    opts.list,
    opts.labelSelector,
  );
  const log = opts.log.child({ informer: opts.name });
  let stopped = false;
  let failures = 0;
  informer.on("add", opts.onChange);
  informer.on("update", opts.onChange);
  informer.on("delete", opts.onDelete);
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const attempt = (): Promise<void> =>
    informer.start().then(() => {
      failures = 0;
      markSynced();
    }, restart);
  function restart(err: unknown): void {
    if (stopped) return;
    const delay = Math.min(60_000, (opts.restartBaseMs ?? 500) * 2 ** failures++);
    log.warn(
      { err: err instanceof Error ? err.message : String(err), restartInMs: delay },
      "informer stopped; restarting",
    );
    setTimeout(() => {
      if (!stopped) void attempt();
    }, delay).unref();
  }
  informer.on("error", restart);
  void attempt();
  return {
    cache: informer,
    synced,
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}
