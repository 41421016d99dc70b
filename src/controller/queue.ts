import { backoffDelay, checkBackoffPolicy, type BackoffPolicy, type RandomSource } from "../backoff/index.ts";
import { workQueueDepth } from "../metrics/index.ts";

/** A key's pending re-add: when it is due (performance.now() time) and the timer that does it. */
interface Deadline {
  dueAt: number;
  timer: NodeJS.Timeout;
}

/**
 * A rate-limited work queue of keys (`namespace/name`), as client-go's: a key waiting is
 * queued once however often it is added; a key being processed is never handed to a second
 * worker, and if it is added meanwhile it runs again afterwards; failures back off per key.
 * A key has at most one pending deadline, the earliest asked for.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly deadlines = new Map<string, Deadline>();
  private readonly waiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly name: string;
  private readonly backoff: BackoffPolicy;
  private readonly random: RandomSource;

  constructor(
    name: string,
    backoff: BackoffPolicy = { baseMs: 200, maxMs: 60_000 },
    random: RandomSource = Math.random,
  ) {
    this.name = name;
    this.backoff = checkBackoffPolicy(backoff);
    this.random = random;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    workQueueDepth.set({ controller: this.name }, this.queue.length);
    this.waiters.shift()?.();
  }

  /**
   * Adds the key after `ms`. If it already waits for an earlier time, that one stands; if for
   * a later one, this replaces it: a quick retry is never held back by a long requeue.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const dueAt = performance.now() + ms;
    const pending = this.deadlines.get(key);
    if (pending !== undefined && pending.dueAt <= dueAt) return;
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.deadlines.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.deadlines.set(key, { dueAt, timer });
  }

  /** Re-adds after this key's next backoff delay (see BackoffPolicy); returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = backoffDelay(this.backoff, failures, this.random);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Resolves with the next key, or undefined once shut down and drained. */
  async next(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.queue.shift() as string;
    this.queued.delete(key);
    this.processing.add(key);
    workQueueDepth.set({ controller: this.name }, this.queue.length);
    return key;
  }

  /** Marks a key finished; if it was added while it ran, it goes back in the queue. */
  finished(key: string): void {
    this.processing.delete(key);
    if (this.dirtyWhileProcessing.delete(key)) this.add(key);
  }

  /** Stops taking keys: workers finish what they hold, then `next()` returns undefined. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.deadlines.values()) clearTimeout(timer);
    this.deadlines.clear();
    this.queue.length = 0;
    this.queued.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
