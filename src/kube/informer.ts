// client-node's informer owns list-then-watch, the relist on 410 Gone and bookmarks; any other
// error stops it, and restarting it is the caller's job (client-node documents it so). This is
// that caller, once, for the controller and the webhook alike.
import {
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  type ObjectCache,
} from "@kubernetes/client-node";
import { Backoff, type BackoffPolicy, type RandomSource } from "../backoff/index.ts";

/** An informer stopped with an error other than 410 Gone; it is restarted after a backoff delay. */
export class InformerFailed extends Error {
  readonly resource: string;
  constructor(resource: string, options: ErrorOptions) {
    const cause = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`informer for ${resource} failed: ${cause}`, options);
    this.name = "InformerFailed";
    this.resource = resource;
  }
}

/** client-go's reflector restarts a failed list-watch after 800 ms, doubling up to 30 s. */
export const INFORMER_BACKOFF: BackoffPolicy = { baseMs: 800, maxMs: 30_000 };

/** An informer's cache plus a promise that resolves after its first full list. */
export interface Watched<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  synced: Promise<void>;
  stop(): Promise<void>;
}

export interface WatchOptions<T extends KubernetesObject> {
  /** Names the resource in errors, e.g. "modelversions". */
  resource: string;
  kubeConfig: KubeConfig;
  path: string;
  list: ListPromise<T>;
  labelSelector?: string;
  onChange(object: T): void;
  onDelete(object: T): void;
  /** Told of each stop by an error, with the delay before the restart. */
  onError(error: InformerFailed, restartInMs: number): void;
  /** Restart delays, per consecutive failure; reset by a start that lists and watches. */
  backoff?: BackoffPolicy;
  random?: RandomSource;
}

export function watchResource<T extends KubernetesObject>(opts: WatchOptions<T>): Watched<T> {
  const informer: Informer<T> & ObjectCache<T> = makeInformer(
    opts.kubeConfig,
    opts.path,
    opts.list,
    opts.labelSelector,
  );
  informer.on("add", opts.onChange);
  informer.on("update", opts.onChange);
  informer.on("delete", opts.onDelete);
  const restarts = new Backoff(opts.backoff ?? INFORMER_BACKOFF, opts.random);
  let stopped = false;
  let failedSinceStart = false;
  let restart: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

  const failed = (cause: unknown): void => {
    failedSinceStart = true;
    if (stopped || restart !== undefined) return;
    const delay = restarts.next();
    opts.onError(new InformerFailed(opts.resource, { cause }), delay);
    restart = setTimeout(() => {
      restart = undefined;
      void attempt();
    }, delay);
    restart.unref();
  };
  async function attempt(): Promise<void> {
    if (stopped) return;
    failedSinceStart = false;
    try {
      await informer.start();
    } catch (e: unknown) {
      failed(e);
      return;
    }
    // A failed list or watch request is reported through "error" while start() still
    // resolves, so only a start without an error in between has listed and is watching.
    if (failedSinceStart || stopped) return;
    restarts.reset();
    markSynced();
  }
  informer.on("error", failed);
  void attempt();
  return {
    cache: informer,
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(restart);
      restart = undefined;
      await informer.stop();
    },
  };
}
