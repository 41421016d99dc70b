// The writer's schedule for signed checkpoints: one every `everyEntries` entries or every
// `everySeconds` seconds when anything was appended, whichever comes first, plus one when it
// starts and one when it stops. Each published checkpoint is handed to the sinks (a ConfigMap
// mirror, an anchor on the IC); a sink that fails is given the latest again at the next tick,
// so none is skipped for good and none blocks the others.
import type { Checkpoint, Ledger } from "./ledger.ts";

export interface CheckpointSink {
  name: string;
  deliver(checkpoint: Checkpoint): Promise<void>;
}

export interface PublisherOptions {
  everyEntries: number;
  everySeconds: number;
  sinks?: readonly CheckpointSink[];
  /** How often the size is looked at (default: 1 s, or the period when shorter). */
  pollMs?: number;
  clock?: () => number;
  onError?: (what: string, e: unknown) => void;
}

export const DEFAULT_CHECKPOINT_EVERY_ENTRIES = 1000;
export const DEFAULT_CHECKPOINT_EVERY_SECONDS = 60;

export class CheckpointPublisher {
  private latest: Checkpoint | undefined;
  private publishedAt = 0;
  private readonly delivered = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private readonly clock: () => number;
  private readonly ledger: Ledger;
  private readonly options: PublisherOptions;

  private constructor(ledger: Ledger, options: PublisherOptions) {
    this.ledger = ledger;
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  static start(ledger: Ledger, options: PublisherOptions): CheckpointPublisher {
    const publisher = new CheckpointPublisher(ledger, options);
    const pollMs = options.pollMs ?? Math.min(1000, Math.max(50, options.everySeconds * 1000));
    publisher.running = publisher.tick(true);
    publisher.timer = setInterval(() => {
      publisher.running = publisher.running.then(() => publisher.tick(false));
    }, pollMs);
    publisher.timer.unref();
    return publisher;
  }

  /** The last checkpoint published by this publisher. */
  get last(): Checkpoint | undefined {
    return this.latest;
  }

  /** Stops the schedule, publishing once more if anything was appended since the last one. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.tick(true);
  }

  private async due(force: boolean): Promise<boolean> {
    const size = await this.ledger.size();
    if (this.latest === undefined) return true;
    const grown = size - this.latest.size;
    if (grown <= 0) return false;
    return (
      force ||
      grown >= this.options.everyEntries ||
      this.clock() - this.publishedAt >= this.options.everySeconds * 1000
    );
  }

  private async tick(force: boolean): Promise<void> {
    try {
      if (await this.due(force)) {
        this.latest = await this.ledger.checkpoint();
        this.publishedAt = this.clock();
      }
    } catch (e: unknown) {
      this.options.onError?.("publish", e);
    }
    await this.deliver();
  }

  private async deliver(): Promise<void> {
    const latest = this.latest;
    if (latest === undefined) return;
    for (const sink of this.options.sinks ?? []) {
      if ((this.delivered.get(sink.name) ?? -1) >= latest.size) continue;
      try {
        await sink.deliver(latest);
        this.delivered.set(sink.name, latest.size);
      } catch (e: unknown) {
        this.options.onError?.(sink.name, e);
      }
    }
  }
}
