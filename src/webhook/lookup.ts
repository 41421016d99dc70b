// Bounded lookups for cache misses: one deadline per lookup, and concurrent misses for the
// same key share one call (single-flight), so a burst of reviews for a new ModelVersion costs
// the API server one GET.

/** A lookup did not answer before its deadline, or failed; the review fails closed. */
export class CacheLookupFailed extends Error {
  readonly key: string;
  constructor(key: string, problem: string, options?: ErrorOptions) {
    super(`webhook cache: lookup of ${key} ${problem}`, options);
    this.name = "CacheLookupFailed";
    this.key = key;
  }
}

/** Resolves or rejects with `promise`, or rejects with CacheLookupFailed after `ms`. */
export function withDeadline<T>(key: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CacheLookupFailed(key, `did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Calls `load` unless a call for `key` is already running, in which case it joins that one. */
  do(key: string, load: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const started = load().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  get size(): number {
    return this.inFlight.size;
  }
}
