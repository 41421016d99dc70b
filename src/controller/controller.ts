import type { Logger } from "pino";
import { reconcileDuration, reconcileErrors, reconciles } from "../metrics/index.ts";
import type { BackoffPolicy } from "../backoff/index.ts";
import { WorkQueue } from "./queue.ts";
import { TerminalError, type Reconciler } from "./reconcile.ts";
import { describeKubeError } from "../kube/index.ts";

/**
 * Runs a reconciler over a work queue with N workers. Retry timing lives here, in one
 * place (the error policy): errors back off per key, a terminal error waits for the next
 * change, `requeueAfter` schedules a look, success forgets the key's failures.
 */
export class Controller {
  readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly log: Logger;
  private workers: Promise<void>[] = [];

  constructor(reconciler: Reconciler, log: Logger, backoff?: BackoffPolicy) {
    this.reconciler = reconciler;
    this.queue = new WorkQueue(reconciler.name, backoff);
    this.log = log.child({ controller: reconciler.name });
  }

  start(workers: number): void {
    this.workers = Array.from({ length: workers }, () => this.work());
  }

  /** Stop taking work and wait for the in-flight reconciles. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.next(); key !== undefined; key = await this.queue.next()) {
      try {
        await this.reconcileOnce(key);
      } finally {
        this.queue.finished(key);
      }
    }
  }

  private async reconcileOnce(key: string): Promise<void> {
    const end = reconcileDuration.startTimer({ controller: this.reconciler.name });
    try {
      const result = await this.reconciler.reconcile(key);
      this.queue.forget(key);
      const requeue = result.requeueAfter !== undefined;
      reconciles.inc({ controller: this.reconciler.name, result: requeue ? "requeue" : "success" });
      if (result.requeueAfter !== undefined) this.queue.addAfter(key, result.requeueAfter);
    } catch (e: unknown) {
      this.errorPolicy(key, e);
    } finally {
      end();
    }
  }

  private errorPolicy(key: string, e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    reconcileErrors.inc({ controller: this.reconciler.name, error: error.name });
    const terminal = error instanceof TerminalError;
    reconciles.inc({ controller: this.reconciler.name, result: terminal ? "terminal" : "retry" });
    const [namespace, name] = key.includes("/") ? key.split("/", 2) : ["", key];
    if (error instanceof TerminalError) {
      this.queue.forget(key);
      this.log.warn(
        { namespace, name, err: describeKubeError(error) },
        "reconcile failed; waiting for the object to change",
      );
      return;
    }
    const delay = this.queue.addRateLimited(key);
    this.log.warn(
      { namespace, name, err: describeKubeError(error), retryInMs: delay },
      "reconcile failed; retrying",
    );
  }
}
