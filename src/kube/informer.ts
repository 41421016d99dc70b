// client-node's informer owns list-then-watch, the relist on 410 Gone and bookmarks; any other
// error stops it, and restarting it is the caller's job (client-node documents it so). This is
// that caller, once, for the controller and the webhook alike.
import {
  ListWatch,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";
import { Backoff, type BackoffPolicy, type RandomSource } from "../backoff/index.ts";
import type { Transform } from "./transform.ts";
import { describeKubeError } from "./errors.ts";

/** An informer stopped with an error other than 410 Gone; it is restarted after a backoff delay. */
export class InformerFailed extends Error {
  readonly resource: string;
  constructor(resource: string, options: ErrorOptions) {
    super(`informer for ${resource} failed: ${describeKubeError(options.cause)}`, options);
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
  /**
   * Undefined while the informer has listed and is watching; otherwise why not (not listed
   * yet, or the failure it is restarting after), so readiness can follow it both ways.
   */
  problem(): string | undefined;
  stop(): Promise<void>;
}

/** Which page of a list to fetch: at most `limit` items, from the `continue` token of the last page on. */
export interface ListPage {
  limit: number;
  continue?: string;
}

/**
 * A list call. Given a page it asks for that page (`limit`, `_continue`) and the informer reads
 * the rest page by page, each transformed before the next is fetched, so the whole list is
 * never held as the API server sent it; a list that ignores the page is one page.
 */
export type PagedList<T extends KubernetesObject> = (page?: ListPage) => Promise<KubernetesListObject<T>>;

/** client-go's reflector lists 500 objects a page. */
export const LIST_PAGE_SIZE = 500;

export interface WatchOptions<T extends KubernetesObject> {
  /** Names the resource in errors, e.g. "modelversions". */
  resource: string;
  kubeConfig: KubeConfig;
  path: string;
  list: PagedList<T>;
  /** Objects per list page (default LIST_PAGE_SIZE). */
  pageSize?: number;
  labelSelector?: string;
  onChange(object: T): void;
  onDelete(object: T): void;
  /** Told of each stop by an error, with the delay before the restart. */
  onError(error: InformerFailed, restartInMs: number): void;
  /** What is kept of each object, applied to listed and watched objects before they are cached. */
  transform?: Transform<T>;
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
  /** See Watched.problem. */
  problem: string | undefined;
  private restart: NodeJS.Timeout | undefined;
  private readonly informer: Informer<T>;
  private readonly restarts: Backoff;
  private readonly opts: WatchOptions<T>;

  constructor(informer: Informer<T>, opts: WatchOptions<T>) {
    this.informer = informer;
    this.opts = opts;
    this.problem = `informer for ${opts.resource} has not listed yet`;
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
    this.problem = undefined;
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
    const error = new InformerFailed(this.opts.resource, { cause });
    this.problem = error.message;
    this.opts.onError(error, delay);
    this.restart = setTimeout(() => {
      this.restart = undefined;
      void this.attempt();
    }, delay);
    this.restart.unref();
  }
}

/**
 * client-node's Watch asking for bookmarks, with each object event transformed before the
 * informer sees it. Bookmarks carry the current resourceVersion to a watch whose objects do not
 * change, so when it reconnects (client-node ends a watch silent for 30 s) it resumes from there
 * instead of from a resourceVersion compacted away, which would be 410 Gone and a full relist.
 * ERROR (a Status carrying 410 Gone) and BOOKMARK events pass untouched: the informer reads
 * the code and the resourceVersion from them.
 */
class BookmarkingWatch<T extends KubernetesObject> extends Watch {
  private readonly transform: Transform<T> | undefined;
  constructor(kubeConfig: KubeConfig, transform: Transform<T> | undefined) {
    super(kubeConfig);
    this.transform = transform;
  }
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const transform = this.transform;
    const objectEvent = (phase: string) => phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED";
    return super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      transform === undefined
        ? callback
        : (phase, apiObj, watchObj) =>
            callback(phase, objectEvent(phase) ? transform(apiObj as T) : apiObj, watchObj),
      done,
    );
  }
}

/** The continue token of a list page: `_continue` once client-node deserialised it, `continue` if untyped. */
function continueOf(list: KubernetesListObject<KubernetesObject>): string | undefined {
  const m = list.metadata as { _continue?: unknown; continue?: unknown } | undefined;
  const token = m?._continue ?? m?.continue;
  return typeof token === "string" && token !== "" ? token : undefined;
}

/**
 * The whole list, read page by page with `transform` applied to each page as it arrives. The
 * resourceVersion is the first page's: the API server serves every page from that snapshot.
 */
async function listInPages<T extends KubernetesObject>(
  list: PagedList<T>,
  limit: number,
  transform: Transform<T> | undefined,
): Promise<KubernetesListObject<T>> {
  const first = await list({ limit });
  const items = transform === undefined ? first.items : first.items.map(transform);
  for (let token = continueOf(first); token !== undefined;) {
    const page = await list({ limit, continue: token });
    for (const o of page.items) items.push(transform === undefined ? o : transform(o));
    token = continueOf(page);
  }
  const { resourceVersion } = first.metadata ?? {};
  return { ...first, metadata: resourceVersion === undefined ? {} : { resourceVersion }, items };
}

/** The list-then-watch informer, with `transform` applied to what it lists and watches. */
function informerFor<T extends KubernetesObject>(opts: WatchOptions<T>): Informer<T> & ObjectCache<T> {
  const { transform } = opts;
  const list = () => listInPages(opts.list, opts.pageSize ?? LIST_PAGE_SIZE, transform);
  const watch = new BookmarkingWatch(opts.kubeConfig, transform);
  return new ListWatch(opts.path, watch, list, false, opts.labelSelector);
}

/** Starts an informer on `path`; it restarts itself after errors until `stop()`. */
export function watchResource<T extends KubernetesObject>(opts: WatchOptions<T>): Watched<T> {
  const informer = informerFor(opts);
  informer.on("add", opts.onChange);
  informer.on("update", opts.onChange);
  informer.on("delete", opts.onDelete);
  const running = new Restarting(informer, opts);
  void running.attempt();
  return {
    cache: informer,
    synced: running.synced,
    problem: () => running.problem,
    stop: () => running.stop(),
  };
}
