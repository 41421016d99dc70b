// Denials (and audit findings) become AdmissionDenied ledger entries, and admitted changes
// ChangeAdmitted entries (changes.ts), handed to an Outbox off the response path: `record` only
// queues the decision; a later tick builds the entries and enqueues the batch. The API server
// retries reviews with the same uid, so the idempotency keys are derived from the uid (+ object +
// reason for denials), and recent keys are also dropped here before they reach the outbox.
import type { LedgerEntry, Outbox } from "../ledger/index.ts";
import { actorOf, entryFor, keyOf, recording } from "../trail/index.ts";
import { changeEntry } from "./changes.ts";
import type { AdmissionDecision, Finding } from "./decision.ts";
import { isRecord, type AdmissionRequest } from "./review.ts";
import type { LedgerTip } from "./state.ts";

export interface DenialRecorderOptions {
  outbox: Outbox;
  cluster: string;
  /** The ledger tip the decision used (read when the decision is recorded). */
  tip(): LedgerTip | undefined;
  /** Outbox failures are reported here; the review has long been answered. */
  onError(error: DenialRecordFailed): void;
  clock?: () => Date;
  /** Bound on keys remembered for dedup and on entries waiting for the outbox. */
  maxRemembered?: number;
  maxPending?: number;
}

/** Handing AdmissionDenied entries to the outbox failed, or the queue was full. */
export class DenialRecordFailed extends Error {
  readonly entries: number;
  constructor(entries: number, problem: string, options?: ErrorOptions) {
    super(`webhook: recording ${entries} AdmissionDenied entries ${problem}`, options);
    this.name = "DenialRecordFailed";
    this.entries = entries;
  }
}

function objectMeta(object: unknown): { name: string; uid: string | undefined } {
  const metadata = isRecord(object) ? object["metadata"] : undefined;
  const field = (f: string): string | undefined =>
    isRecord(metadata) && typeof metadata[f] === "string" ? metadata[f] : undefined;
  return { name: field("name") ?? field("generateName") ?? "(unnamed)", uid: field("uid") };
}

function denialParts(request: AdmissionRequest, finding: Finding): (string | undefined)[] {
  return [
    request.uid,
    request.kind.group,
    request.kind.kind,
    request.namespace,
    objectMeta(request.object).name,
    finding.reason,
    finding.check,
    finding.policy,
  ];
}

export function denialKey(request: AdmissionRequest, finding: Finding): string {
  return keyOf("AdmissionDenied", { parts: denialParts(request, finding) });
}

export function denialEntry(
  request: AdmissionRequest,
  finding: Finding,
  tip: LedgerTip | undefined,
  cluster: string,
  at: Date,
): LedgerEntry {
  const meta = objectMeta(request.object);
  const apiVersion =
    request.kind.group === "" ? request.kind.version : `${request.kind.group}/${request.kind.version}`;
  const subject = {
    apiVersion,
    kind: request.kind.kind,
    metadata: {
      name: request.name || meta.name,
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(meta.uid ? { uid: meta.uid } : {}),
    },
  };
  const denied = recording(
    "AdmissionDenied",
    { parts: denialParts(request, finding) },
    {
      reviewUid: request.uid,
      operation: request.operation,
      reason: finding.reason,
      check: finding.check,
      message: finding.message,
      policy: finding.policy,
      mode: finding.mode,
      enforced: finding.mode === "enforce",
      ledgerTip: tip === undefined ? null : { size: tip.size, root: tip.root },
      actor: request.userInfo === undefined ? null : actorOf(request.userInfo),
    },
    finding.message,
  );
  return entryFor(subject, denied, cluster, at);
}

/** A decision waiting to become entries: what `record` was handed, with the moment and tip it saw. */
interface Queued {
  request: AdmissionRequest;
  decision: AdmissionDecision;
  at: Date;
  tip: LedgerTip | undefined;
}

export class DenialRecorder {
  private readonly options: DenialRecorderOptions;
  private readonly remembered = new Set<string>();
  private queued: Queued[] = [];
  private pending: LedgerEntry[] = [];
  private scheduled = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(options: DenialRecorderOptions) {
    this.options = options;
  }

  /**
   * Queues the decision's findings, or the change it admitted, and returns at once: the entries
   * (a diff, canonical JSON, digests) are built on a later tick, after the answer has been sent.
   */
  record(request: AdmissionRequest, decision: AdmissionDecision): void {
    if (this.queued.length + this.pending.length >= (this.options.maxPending ?? 10_000)) {
      this.options.onError(new DenialRecordFailed(1, "dropped: the outbox queue is full"));
      return;
    }
    const at = (this.options.clock ?? (() => new Date()))();
    this.queued.push({ request, decision, at, tip: this.options.tip() });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private entriesOf({ request, decision, at, tip }: Queued): LedgerEntry[] {
    const { cluster } = this.options;
    const entries = decision.record.map((f) => denialEntry(request, f, tip, cluster, at));
    const change = decision.allowed ? changeEntry(request, cluster, at) : undefined;
    return change === undefined ? entries : [...entries, change];
  }

  /** Builds the queued decisions' entries, less those recorded recently (a retried review). */
  private build(): void {
    const queued = this.queued;
    this.queued = [];
    for (const q of queued) {
      let entries: LedgerEntry[];
      try {
        entries = this.entriesOf(q);
      } catch (e: unknown) {
        // Off the response path nothing may throw: the review has long been answered.
        this.options.onError(new DenialRecordFailed(1, "could not be built", { cause: e }));
        continue;
      }
      for (const entry of entries) {
        if (this.remembered.has(entry.key)) continue;
        this.remember(entry.key);
        this.pending.push(entry);
      }
    }
  }

  private remember(key: string): void {
    this.remembered.add(key);
    // Sets iterate in insertion order, so the first key is the oldest.
    if (this.remembered.size > (this.options.maxRemembered ?? 10_000)) {
      const oldest = this.remembered.values().next();
      if (!oldest.done) this.remembered.delete(oldest.value);
    }
  }

  private drain(): void {
    this.scheduled = false;
    this.build();
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight = this.inFlight
      .then(() => this.options.outbox.enqueue(batch))
      .catch((e: unknown) => {
        // Forget the keys so a retried review can try again.
        for (const entry of batch) this.remembered.delete(entry.key);
        this.options.onError(new DenialRecordFailed(batch.length, "failed", { cause: e }));
      });
  }

  /** Resolves once everything recorded so far has been handed to the outbox. */
  async settled(): Promise<void> {
    while (this.scheduled || this.queued.length > 0 || this.pending.length > 0)
      await new Promise((r) => setImmediate(r));
    await this.inFlight;
  }
}
