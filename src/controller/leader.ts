// Leader election on a coordination.k8s.io/v1 Lease: only the leader runs the controllers
// (and so writes). A leader that cannot renew within the lease duration stops leading.
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeKubeError } from "../kube/index.ts";

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewPeriodMs?: number;
  log: Logger;
  clock?: () => Date;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/** Whether `holder` may take the lease now (pure): free, its own, or expired. */
export function canAcquire(lease: V1Lease, identity: string, now: Date): boolean {
  const spec = lease.spec ?? {};
  if (!spec.holderIdentity || spec.holderIdentity === identity) return true;
  const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
  return renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now.getTime();
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: Required<Omit<LeaderElectionOptions, "kubeConfig" | "log" | "clock">> & {
    log: Logger;
    clock: () => Date;
  };
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private callbacks: LeaderCallbacks | undefined;

  constructor(options: LeaderElectionOptions) {
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.opts = { leaseDurationSeconds: 15, renewPeriodMs: 2000, clock: () => new Date(), ...options };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(callbacks: LeaderCallbacks): void {
    this.callbacks = callbacks;
    const tick = async () => {
      await this.tryAcquireOrRenew();
      this.timer = setTimeout(() => void tick(), this.opts.renewPeriodMs);
    };
    void tick();
  }

  /** Stops renewing and, if leading, hands the lease back so another instance takes over at once. */
  async release(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
      });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1 };
      await this.api.replaceNamespacedLease({
        name: this.opts.name,
        namespace: this.opts.namespace,
        body: lease,
      });
    } catch (e: unknown) {
      this.opts.log.warn({ err: describeKubeError(e) }, "could not release the leader lease");
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = this.opts.clock();
    try {
      const ok = await this.acquireOrRenew(now);
      if (ok) this.lastRenew = now.getTime();
      if (
        ok !== this.leading &&
        (ok || now.getTime() - this.lastRenew > this.opts.leaseDurationSeconds * 1000)
      )
        this.setLeading(ok);
    } catch (e: unknown) {
      this.opts.log.warn({ err: describeKubeError(e) }, "leader election round failed");
      if (this.leading && now.getTime() - this.lastRenew > this.opts.leaseDurationSeconds * 1000)
        this.setLeading(false);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.opts.log.info(
      { identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` },
      leading ? "became leader" : "stopped leading",
    );
    if (leading) this.callbacks?.onStartedLeading();
    else this.callbacks?.onStoppedLeading();
  }

  /** One round; true when this instance holds the lease afterwards. A 409 means someone else won. */
  private async acquireOrRenew(now: Date): Promise<boolean> {
    const { name, namespace, identity, leaseDurationSeconds } = this.opts;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: new V1MicroTime(now.getTime()),
    };
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e: unknown) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
      return this.conflictMeansFalse(
        this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: new V1MicroTime(now.getTime()), leaseTransitions: 0 },
          },
        }),
      );
    }
    if (!canAcquire(lease, identity, now)) return false;
    const taking = lease.spec?.holderIdentity !== identity;
    lease.spec = {
      ...lease.spec,
      ...spec,
      ...(taking
        ? {
            acquireTime: new V1MicroTime(now.getTime()),
            leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1,
          }
        : {}),
    };
    return this.conflictMeansFalse(this.api.replaceNamespacedLease({ name, namespace, body: lease }));
  }

  private async conflictMeansFalse(write: Promise<V1Lease>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (e: unknown) {
      if (e instanceof ApiException && e.code === 409) return false;
      throw e;
    }
  }
}
