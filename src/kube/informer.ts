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

/** Keeps one informer running: each stop by an error is followed by a restart after a delay. */
class Restarting<T extends KubernetesObject> {
  readonly synced: Promise<void>;
  private markSynced: () => void = () => {};
  private stopped = false;
  private failedSinceStart = false;
  private restart: NodeJS.Timeout | undefined;
  private readonly informer: Informer<T>;
  private readonly restarts: Backoff;
  private readonly opts: WatchOptions<T>;

  constructor(informer: Informer<T>, opts: WatchOptions<T>) {
    this.informer = informer;
    this.opts = opts;
    this.restarts = new Backoff(opts.backoff ?? INFORMER_BACKOFF, opts.random);
    this.synced = new Promise<void>((resolve) => (this.markSynced = resolve));
    informer.on("error", (cause: unknown) => this.failed(cause));
  }

  async attempt(): Promise<void> {
    if (this.stopped) return;
    this.failedSinceStart = false;
    try {
      await this.informer.start();
    } catch (e: unknown) {
      this.failed(e);
      return;
    }
    // A failed list or watch request is reported through "error" while start() still
    // resolves, so only a start without an error in between has listed and is watching.
    if (this.failedSinceStart || this.stopped) return;
    this.restarts.reset();
    this.markSynced();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restart);
    this.restart = undefined;
    await this.informer.stop();
  }

  private failed(cause: unknown): void {
    this.failedSinceStart = true;
    if (this.stopped || this.restart !== undefined) return;
    const delay = this.restarts.next();
    this.opts.onError(new InformerFailed(this.opts.resource, { cause }), delay);
    this.restart = setTimeout(() => {
      this.restart = undefined;
      void this.attempt();
    }, delay);
    this.restart.unref();
  }
}

/** Starts an informer on `path`; it restarts itself after errors until `stop()`. */
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
  const running = new Restarting(informer, opts);
  void running.attempt();
  return { cache: informer, synced: running.synced, stop: () => running.stop() };
}
