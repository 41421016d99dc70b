import { createHash } from "node:crypto";
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Ledger, LedgerEntry, Receipt } from "../ledger/index.ts";
import { entryFor, type Involved, type Recording } from "../trail/index.ts";
import { describeKubeError } from "../kube/index.ts";

/**
 * Records an event in the ledger, then as a Kubernetes Event on the object. The ledger
 * append is idempotent by key; the Event's name derives from the key too, so a retry that
 * finds it already there changes nothing, and a retry after a lost reply still emits it.
 * Events are best effort (as in client-go): a failed Event is logged, the ledger entry stands.
 */
export class EventRecorder {
  private readonly core: CoreV1Api;
  private readonly ledger: Ledger;
  private readonly cluster: string;
  private readonly log: Logger;
  private readonly clock: () => Date;

  constructor(
    kubeConfig: KubeConfig,
    ledger: Ledger,
    cluster: string,
    log: Logger,
    clock: () => Date = () => new Date(),
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.ledger = ledger;
    this.cluster = cluster;
    this.log = log;
    this.clock = clock;
  }

  /** Whether an event with this key is already in the ledger. */
  async recorded(key: string): Promise<boolean> {
    return (await this.ledger.lookup(key)) !== undefined;
  }

  async recordedData(key: string): Promise<Record<string, unknown> | undefined> {
    const receipt = await this.ledger.lookup(key);
    return receipt === undefined ? undefined : (await this.ledger.get(receipt.index)).envelope.entry.data;
  }

  async record(object: Involved, recording: Recording): Promise<Receipt> {
    const now = this.clock();
    const receipt = await this.appended(entryFor(object, recording, this.cluster, now), recording.key);
    const meta = object.metadata ?? {};
    this.log.info(
      {
        kind: recording.kind,
        namespace: meta.namespace,
        name: meta.name,
        entryIndex: receipt.index,
        duplicate: receipt.duplicate,
      },
      "recorded",
    );
    // Also for a duplicate: it may be this operator's own entry whose reply was lost (a retry
    // then reads it as a duplicate). The Event's name comes from the key, so one that is
    // already there answers 409 and nothing changes.
    await this.emitEvent(object, recording, receipt, now);
    return receipt;
  }

  /**
   * The append's receipt; when the append fails but its key is in the ledger (it landed, the
   * reply was lost), the ledger's receipt for it, so its Event goes out now: a later pass may
   * never come (a new rollout replaces the Pods, a revocation stops the reconcile first).
   */
  private async appended(entry: LedgerEntry, key: string): Promise<Receipt> {
    try {
      const [receipt] = await this.ledger.append([entry]);
      if (receipt === undefined) throw new Error("ledger returned no receipt");
      return receipt;
    } catch (e: unknown) {
      const landed = await this.ledger.lookup(key).catch(() => undefined);
      if (landed === undefined) throw e;
      return landed;
    }
  }

  private emitEvent(object: Involved, recording: Recording, receipt: Receipt, now: Date): Promise<void> {
    const message = `${recording.message} (ledger entry ${receipt.index})`;
    return this.emit(
      object,
      { key: recording.key, reason: recording.kind, message, type: recording.eventType },
      now,
    );
  }

  /**
   * A Warning Event that is not a ledger entry: a refusal the operator decided on its own (the
   * object's condition says the same). Named after the reason and message, so the same refusal
   * on every pass is one Event.
   */
  warn(object: Involved, reason: string, message: string): Promise<void> {
    return this.emit(object, { key: `${reason}/${message}`, reason, message, type: "Warning" }, this.clock());
  }

  private async emit(
    object: Involved,
    event: { key: string; reason: string; message: string; type: string },
    now: Date,
  ): Promise<void> {
    const { key, reason, message, type } = event;
    const meta = object.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const suffix = createHash("sha256").update(key).digest("hex").slice(0, 16);
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${meta.name ?? "object"}.${suffix}`, namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
          },
          reason,
          message,
          type,
          source: { component: "modelchain-operator" },
          reportingComponent: "modelchain.io/operator",
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (e: unknown) {
      if (e instanceof ApiException && e.code === 409) return;
      this.log.warn(
        { kind: reason, namespace, name: meta.name, err: describeKubeError(e) },
        "could not emit Kubernetes Event",
      );
    }
  }
}
