// `modelchain operator`: informers → work queues → reconcilers, behind leader election, with
// /healthz and /readyz. Each part gets only what it needs; nothing here decides anything.
import type { KubeConfig, KubernetesObject, ObjectCache, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { MODEL_DEPLOYMENT, MODEL_VERSION_LABEL } from "../api/index.ts";
import { CheckpointPublisher, type Ledger, type PublisherOptions } from "../ledger/index.ts";
import { TrailIndex } from "../trail/index.ts";
import { Controller } from "./controller.ts";
import type { Watched } from "./informers.ts";
import { startInformers, type Informers } from "./operator-informers.ts";
import { kubeMaterialReader } from "./material.ts";
import { kubeWrites } from "./kube.ts";
import { LeaderElector } from "./leader.ts";
import { ModelDeploymentReconciler } from "./modeldeployment.ts";
import { ModelVersionReconciler } from "./modelversion.ts";
import { LabelledDeploymentReconciler } from "./labelled.ts";
import { artifactRevocationFollower, TrustPolicyReconciler } from "./trustpolicy.ts";
import { publishDeploymentGauges } from "./gauges.ts";
import { PodIndex } from "./pod-index.ts";
import { SpecChanges } from "./spec-changes.ts";
import { KeysByModel } from "./labelled-keys.ts";
import { EventRecorder } from "./recorder.ts";
import { serveHealth } from "./health.ts";
import { DEPLOYMENT_LABEL } from "./deployment-spec.ts";
import { withSharedConnections } from "../kube/index.ts";

/**
 * How the operator gets its ledger: opened when this instance starts leading and closed when
 * it stops, so a standby never holds the file ledger's write lock and a failover can take it.
 */
export interface LedgerHandle {
  open(): Promise<Ledger>;
  close(ledger: Ledger): Promise<void>;
}

/** A ledger the caller owns: handed out as is, never closed by the operator. */
export const borrowedLedger = (ledger: Ledger): LedgerHandle => ({
  open: async () => ledger,
  close: async () => {},
});

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  ledger: LedgerHandle;
  cluster: string;
  log: Logger;
  workers?: number;
  /** Lease for leader election; omit to lead unconditionally (a single instance). */
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationSeconds?: number };
  healthPort?: number;
  /** Where /healthz and /readyz listen (default 127.0.0.1; in a Pod, 0.0.0.0). */
  healthHost?: string;
  /** A further readiness condition (the in-process webhook's): undefined when ready, else why not. */
  notReady?: () => string | undefined;
  /** An outbox (the in-process webhook's denials) delivered into the ledger while leading. */
  outbox?: { attach(ledger: Ledger | undefined): Promise<void> };
  resyncMs?: number;
  progressPollMs?: number;
  /** The modelchain image (pinned by digest) that artifact fetch/verify init containers run. */
  artifactImage?: string;
  /** How often the ledger is read for artifact revocations recorded by other clusters. */
  ledgerFollowMs?: number;
  /** A file ledger's checkpoint schedule while leading, and where each one goes besides its directory. */
  checkpoints?: Omit<PublisherOptions, "onError">;
}

export interface Operator {
  /** Resolves once every informer has listed once. */
  synced: Promise<void>;
  healthUrl: string | undefined;
  isLeader(): boolean;
  /** The ledger this instance writes to while it leads. */
  ledger(): Ledger | undefined;
  stop(): Promise<void>;
}

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;

function dependants(
  mds: ObjectCache<KubernetesObject>,
  mvs: ObjectCache<KubernetesObject>,
  namespace: string,
  name: string,
): { mds: string[]; mvs: string[] } {
  const spec = (o: KubernetesObject): Record<string, unknown> =>
    (o as { spec?: Record<string, unknown> }).spec ?? {};
  const serving = mds
    .list(namespace)
    .filter((o) => spec(o)["modelVersion"] === name)
    .map(keyOf);
  const children = mvs
    .list(namespace)
    .filter(
      (o) =>
        Array.isArray(spec(o)["parents"]) &&
        (spec(o)["parents"] as Array<{ name?: unknown }>).some((p) => p.name === name),
    )
    .map(keyOf);
  return { mds: serving, mvs: children };
}

// The operator's wiring: informers, queues and leader election share callbacks that close over
// each other, which is why this one function is long.
// eslint-disable-next-line max-lines-per-function -- wiring, split further when it next grows
export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const log = opts.log;
  // One connection pool for every call and watch, not an Agent (and a socket) per request.
  withSharedConnections(opts.kubeConfig);
  const clock = () => new Date();
  const writes = kubeWrites(opts.kubeConfig);
  let ledger: Ledger | undefined;
  let publisher: CheckpointPublisher | undefined;
  const pods = new PodIndex();
  const policies = new SpecChanges(() => informers.mtps.cache);
  const labelledByModel = new KeysByModel();
  /** A Pod's change wakes the workload it belongs to (by label; no scan of all Deployments). */
  const podChanged = (p: V1Pod) => {
    const namespace = p.metadata?.namespace ?? "";
    const owner = p.metadata?.labels?.[DEPLOYMENT_LABEL];
    if (owner !== undefined) mdController?.queue.add(`${namespace}/${owner}`);
    else if (labelledController !== undefined)
      for (const key of labelledByModel.keys(namespace, p.metadata?.labels?.[MODEL_VERSION_LABEL] ?? ""))
        labelledController.queue.add(key);
  };
  let mvController: Controller | undefined;
  let mdController: Controller | undefined;
  let labelledController: Controller | undefined;
  let policyController: Controller | undefined;
  let followArtifacts: (() => Promise<void>) | undefined;
  const enqueueAll = () => {
    for (const o of informers.mtps.cache.list()) policyController?.queue.add(keyOf(o));
    for (const o of informers.mvs.cache.list()) mvController?.queue.add(keyOf(o));
    for (const o of informers.mds.cache.list()) mdController?.queue.add(keyOf(o));
    for (const o of informers.labelled.cache.list()) labelledController?.queue.add(keyOf(o));
  };
  const informers: Informers = startInformers(opts, {
    mv: (o) => mvController?.queue.add(keyOf(o)),
    // A policy's own status write wakes only the policy: it changes no verdict.
    policy: (o) => (policies.changed(o) ? enqueueAll() : policyController?.queue.add(keyOf(o))),
    md: (o) => mdController?.queue.add(keyOf(o)),
    namespace: (o) => {
      for (const mv of informers.mvs.cache.list(o.metadata?.name ?? "")) mvController?.queue.add(keyOf(mv));
    },
    pod: (p) => {
      pods.put(p);
      podChanged(p);
    },
    podGone: (p) => {
      pods.remove(p);
      podChanged(p);
    },
    labelled: (d) => {
      labelledByModel.put(d);
      labelledController?.queue.add(keyOf(d));
    },
    labelledGone: (d) => {
      labelledByModel.remove(d);
      labelledController?.queue.add(keyOf(d));
    },
    deployment: (d) => {
      const owner = d.metadata?.ownerReferences?.find(
        (r) => r.kind === MODEL_DEPLOYMENT.kind && r.controller,
      );
      if (owner !== undefined) mdController?.queue.add(`${d.metadata?.namespace ?? ""}/${owner.name}`);
    },
    // By label too: an edit that dropped the owner reference must still wake the owner to restore it.
    service: (s) => {
      const owner =
        s.metadata?.ownerReferences?.find((r) => r.kind === MODEL_DEPLOYMENT.kind && r.controller)?.name ??
        s.metadata?.labels?.[DEPLOYMENT_LABEL];
      if (owner !== undefined) mdController?.queue.add(`${s.metadata?.namespace ?? ""}/${owner}`);
    },
  });
  const onArtifactRevoked = (digest: string) => {
    for (const o of informers.mvs.cache.list())
      if ((o as { spec?: { artifact?: { digest?: unknown } } }).spec?.artifact?.digest === digest)
        mvController?.queue.add(keyOf(o));
  };
  const onVerdict = (namespace: string, name: string) => {
    const d = dependants(informers.mds.cache, informers.mvs.cache, namespace, name);
    d.mds.forEach((k) => mdController?.queue.add(k));
    d.mvs.forEach((k) => mvController?.queue.add(k));
    for (const key of labelledByModel.keys(namespace, name)) labelledController?.queue.add(key);
  };
  const synced = Promise.all(Object.values(informers).map((i: Watched<KubernetesObject>) => i.synced)).then(
    () => undefined,
  );
  const startControllers = async () => {
    // Reconcile only from a complete picture: a ModelVersion judged before the trust policies
    // are listed would be registered as unverified.
    await synced;
    ledger = await opts.ledger.open();
    await opts.outbox?.attach(ledger);
    if (opts.checkpoints !== undefined && ledger.origin.backend === "file")
      publisher = CheckpointPublisher.start(ledger, {
        ...opts.checkpoints,
        onError: (what, e) =>
          log.warn(
            { err: e instanceof Error ? e.message : String(e), sink: what },
            "checkpoint not published",
          ),
      });
    const ctx = {
      modelVersions: informers.mvs.cache,
      policies: informers.mtps.cache,
      namespaces: informers.namespaces.cache,
      ledger,
      trail: new TrailIndex(),
      readMaterial: kubeMaterialReader(opts.kubeConfig),
    };
    const recorder = new EventRecorder(opts.kubeConfig, ledger, opts.cluster, log, clock);
    const shared = { ctx, recorder, writes, clock };
    mvController = new Controller(new ModelVersionReconciler({ ...shared, onVerdict }), log);
    mdController = new Controller(
      new ModelDeploymentReconciler({
        ctx,
        modelDeployments: informers.mds.cache,
        deployments: informers.deployments.cache,
        services: informers.services.cache,
        pods,
        recorder,
        writes,
        kubeConfig: opts.kubeConfig,
        clock,
        ...(opts.progressPollMs === undefined ? {} : { progressPollMs: opts.progressPollMs }),
        ...(opts.artifactImage === undefined ? {} : { artifactImage: opts.artifactImage }),
      }),
      log,
    );
    labelledController = new Controller(
      new LabelledDeploymentReconciler({
        deployments: informers.labelled.cache,
        pods,
        ctx,
        recorder,
        writes,
        kubeConfig: opts.kubeConfig,
        clock,
        ...(opts.progressPollMs === undefined ? {} : { progressPollMs: opts.progressPollMs }),
      }),
      log,
    );
    policyController = new Controller(new TrustPolicyReconciler({ ...shared, onArtifactRevoked }), log);
    followArtifacts = artifactRevocationFollower(ctx, onArtifactRevoked);
    policyController.start(1);
    mvController.start(opts.workers ?? 2);
    mdController.start(opts.workers ?? 2);
    labelledController.start(opts.workers ?? 2);
    enqueueAll();
  };
  const stopControllers = async () => {
    const running = [policyController, mvController, mdController, labelledController];
    policyController = mvController = mdController = labelledController = undefined;
    followArtifacts = undefined;
    await Promise.all(running.map((c) => c?.stop()));
    await opts.outbox?.attach(undefined);
    await publisher?.stop();
    publisher = undefined;
    const held = ledger;
    ledger = undefined;
    if (held !== undefined) await opts.ledger.close(held);
  };
  const lead = () =>
    startControllers().catch((e: unknown) => {
      log.error(
        { err: e instanceof Error ? e.message : String(e) },
        "could not start leading (ledger unavailable?); stepping down",
      );
      void elector?.release();
    });
  const resync = setInterval(enqueueAll, opts.resyncMs ?? 300_000);
  resync.unref();
  const follow = setInterval(() => {
    followArtifacts?.().catch((e: unknown) =>
      log.warn(
        { kind: "ArtifactRevoked", err: e instanceof Error ? e.message : String(e) },
        "ledger not followed",
      ),
    );
  }, opts.ledgerFollowMs ?? 5_000);
  follow.unref();
  const gauges = setInterval(() => publishDeploymentGauges(informers.mds.cache.list()), 15_000);
  gauges.unref();
  const elector: LeaderElector | undefined = opts.leaderElection
    ? new LeaderElector({ kubeConfig: opts.kubeConfig, log, ...opts.leaderElection })
    : undefined;
  if (elector)
    elector.start({ onStartedLeading: () => void lead(), onStoppedLeading: () => void stopControllers() });
  else await startControllers();
  const notReady = (): string | undefined => {
    const problems = Object.values(informers).flatMap((i: Watched<KubernetesObject>) => i.problem() ?? []);
    const extra = opts.notReady?.();
    return [...problems, ...(extra === undefined ? [] : [extra])].join("; ") || undefined;
  };
  const health =
    opts.healthPort === undefined
      ? undefined
      : await serveHealth(opts.healthPort, opts.healthHost ?? "127.0.0.1", notReady);
  return {
    synced,
    healthUrl: health?.url,
    isLeader: () => elector?.isLeader ?? true,
    ledger: () => ledger,
    stop: async () => {
      clearInterval(resync);
      clearInterval(follow);
      clearInterval(gauges);
      await stopControllers();
      await elector?.release();
      await Promise.all(Object.values(informers).map((i: Watched<KubernetesObject>) => i.stop()));
      await new Promise<void>((resolve) => (health ? health.server.close(() => resolve()) : resolve()));
    },
  };
}
