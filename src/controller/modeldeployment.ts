// ModelDeployment reconciler: admit (lineage), apply the owned Deployment, and record every
// rollout, image digest and config change exactly once; ModelDeploymentDeleted through a
// finalizer removed only after the entry is recorded.
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
} from "@kubernetes/client-node";
import type { PodIndex } from "./pod-index.ts";
import {
  describeErrors,
  FINALIZER,
  MODEL_DEPLOYMENT,
  setCondition,
  specDigest,
  validateModelDeployment,
  validateModelVersion,
  type Condition,
  type ModelDeployment,
  type ModelDeploymentStatus,
  type ModelVersion,
  type RolloutRecord,
} from "../api/index.ts";
import { configMapData, type KubeWrites } from "./kube.ts";
import { failureSummary, verdicts, verifiedUnderAll, type LineageContext } from "./lineage-context.ts";
import {
  configHash,
  DEPLOYMENT_LABEL,
  desiredDeployment,
  rolloutOutcome,
  servingConfig,
  templateHash,
} from "./deployment-spec.ts";
import { findDrift, type Drift } from "./drift.ts";
import { sameStatus } from "./modelversion.ts";
import { done, requeueAfter, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";

export interface ModelDeploymentDeps {
  ctx: LineageContext;
  modelDeployments: ObjectCache<KubernetesObject>;
  deployments: ObjectCache<V1Deployment>;
  /** Pods labelled with a model version (ours and labelled workloads'), for drift. */
  pods: PodIndex;
  recorder: EventRecorder;
  writes: KubeWrites;
  kubeConfig: KubeConfig;
  clock: () => Date;
  /** How often a rollout in progress is looked at again, besides Deployment events. */
  progressPollMs?: number;
}

const MAX_ROLLOUTS = 10;

export class ModelDeploymentReconciler implements Reconciler {
  readonly name = "modeldeployment";
  private readonly deps: ModelDeploymentDeps;
  private readonly core: CoreV1Api;

  constructor(deps: ModelDeploymentDeps) {
    this.deps = deps;
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const object = this.deps.modelDeployments.get(name, namespace);
    if (object === undefined) return done();
    const checked = validateModelDeployment(object);
    if (!checked.ok)
      return this.writeConditions(object as ModelDeployment, [
        { type: "Admitted", status: "False", reason: "InvalidSpec", message: describeErrors(checked.errors) },
      ]);
    const md = checked.value;
    if (md.metadata.deletionTimestamp !== undefined) return this.finalize(md);
    if (!(md.metadata.finalizers ?? []).includes(FINALIZER)) {
      await this.deps.writes.setFinalizers(MODEL_DEPLOYMENT.plural, namespace, name, md.metadata.finalizers, [
        ...(md.metadata.finalizers ?? []),
        FINALIZER,
      ]);
    }
    const mvObject = this.deps.ctx.modelVersions.get(md.spec.modelVersion, namespace);
    const mvChecked = mvObject === undefined ? undefined : validateModelVersion(mvObject);
    if (mvChecked === undefined || !mvChecked.ok) {
      return this.writeConditions(md, [
        {
          type: "Admitted",
          status: "False",
          reason: "ModelVersionMissing",
          message: `ModelVersion ${namespace}/${md.spec.modelVersion} does not exist or is invalid`,
        },
      ]);
    }
    const mv = mvChecked.value;
    const results = await verdicts(this.deps.ctx, mv);
    const enforced = results.some((r) => r.mode === "enforce" && !r.verdict.verified) || results.length === 0;
    if (enforced) {
      const revoked = results.find((r) => r.verdict.revoked !== undefined);
      if (revoked !== undefined)
        await this.revokedInUse(
          md,
          mv,
          revoked.verdict.revoked ?? "",
          results.some((r) => r.scaleToZero),
        );
      return this.writeConditions(md, [
        {
          type: "Admitted",
          status: "False",
          reason: revoked ? "ModelRevoked" : "LineageNotVerified",
          message: failureSummary(results),
        },
      ]);
    }
    return this.rollout(
      md,
      mv,
      verifiedUnderAll(results)
        ? "lineage verified"
        : `admitted by a non-enforcing policy: ${failureSummary(results)}`,
    );
  }

  private async rollout(
    md: ModelDeployment,
    mv: ModelVersion,
    admittedBecause: string,
  ): Promise<ReconcileResult> {
    const namespace = md.metadata.namespace ?? "default";
    const config = configHash(servingConfig(md, await this.configMaps(md)));
    const mvDigest = specDigest(mv.spec);
    const hash = templateHash(md.spec.image, config, mvDigest);
    const rollouts = [...(md.status?.rollouts ?? [])];
    let current = rollouts.at(-1);
    // A rollout decided (in status) without a ledger index: if its start reached the ledger it
    // happened and its record is completed; if not and it is superseded, it never happened.
    if (current !== undefined && current.ledgerIndex === undefined) {
      if (current.templateHash === hash || (await this.deps.recorder.recorded(this.startKey(md, current)))) {
        current = await this.recordRolloutStart(md, rollouts.at(-2), current, mvDigest);
        rollouts[rollouts.length - 1] = current;
      } else {
        rollouts.pop();
        current = rollouts.at(-1);
      }
    }
    if (current?.templateHash !== hash) {
      current = {
        revision: (current?.revision ?? 0) + 1,
        templateHash: hash,
        image: md.spec.image,
        configHash: config,
        phase: "Started",
        startedAt: this.deps.clock().toISOString(),
      };
      rollouts.push(current);
      // Status first, ledger second: a crash in between leaves the decided rollout in status,
      // and the next pass records it with the same keys and the same predecessor.
      await this.deps.writes.patchStatus(MODEL_DEPLOYMENT.plural, namespace, md.metadata.name, {
        rollouts: rollouts.slice(-MAX_ROLLOUTS),
      });
    }
    if (current.ledgerIndex === undefined) {
      current = await this.recordRolloutStart(md, rollouts.at(-2), current, mvDigest);
      rollouts[rollouts.length - 1] = current;
    }
    await this.deps.writes.applyDeployment(
      desiredDeployment({
        md,
        modelSpecDigest: mvDigest,
        configHash: config,
        templateHash: hash,
        ledgerIndex: current.ledgerIndex ?? 0,
      }),
    );
    const deployment = this.deps.deployments.get(md.metadata.name, namespace);
    const outcome = rolloutOutcome(deployment, hash);
    if (current.phase === "Started" && outcome !== "progressing") {
      current = await this.finishRollout(md, current, outcome);
      rollouts[rollouts.length - 1] = current;
    }
    const drift = await this.recordDrift(md);
    const available = deployment?.status?.conditions?.find((c) => c.type === "Available");
    const conditions: Array<Omit<Condition, "lastTransitionTime">> = [
      { type: "Admitted", status: "True", reason: "LineageVerified", message: admittedBecause },
      {
        type: "Progressing",
        status: current.phase === "Started" ? "True" : "False",
        reason: `Rollout${current.phase}`,
        message: `revision ${current.revision} (${hash})`,
      },
      {
        type: "Available",
        status: available?.status === "True" ? "True" : "False",
        reason: available?.reason ?? "DeploymentPending",
        message: available?.message ?? "",
      },
      {
        type: "Recorded",
        status: "True",
        reason: `Rollout${current.phase}Recorded`,
        message: `ledger entry ${current.ledgerIndex ?? "?"}`,
      },
      drift.length === 0
        ? { type: "Drifted", status: "False", reason: "RunningAdmittedDigest", message: "" }
        : {
            type: "Drifted",
            status: "True",
            reason: "ImageDigestDrift",
            message: drift
              .map((d) => `pod ${d.pod} container ${d.container} runs ${d.running}, admitted ${d.admitted}`)
              .join("; "),
          },
    ];
    const status: ModelDeploymentStatus = {
      currentRevision: current.revision,
      specDigest: mvDigest,
      configHash: config,
      rollouts: rollouts.slice(-MAX_ROLLOUTS),
    };
    await this.writeConditions(md, conditions, status);
    return current.phase === "Started" ? requeueAfter(this.deps.progressPollMs ?? 10_000) : done();
  }

  private startKey(md: ModelDeployment, rollout: RolloutRecord): string {
    return `RolloutStarted/${md.metadata.uid ?? md.metadata.name}/${rollout.revision}-${rollout.templateHash}`;
  }

  /**
   * Records a decided rollout, then what changed since the one before it. The start goes
   * first: once it is in the ledger the rollout counts as having happened, and a later pass
   * completes the rest with the same keys.
   */
  private async recordRolloutStart(
    md: ModelDeployment,
    previous: RolloutRecord | undefined,
    next: RolloutRecord,
    mvDigest: string,
  ): Promise<RolloutRecord> {
    const id = `${md.metadata.uid ?? md.metadata.name}/${next.revision}-${next.templateHash}`;
    const { revision } = next;
    const data = {
      revision,
      image: next.image,
      configHash: next.configHash,
      modelVersion: md.spec.modelVersion,
      modelSpecDigest: mvDigest,
      templateHash: next.templateHash,
    };
    const receipt = await this.deps.recorder.record(md, {
      kind: "RolloutStarted",
      key: this.startKey(md, next),
      data,
      eventType: "Normal",
      message: `rollout ${revision} of ${md.spec.modelVersion} with ${next.image}`,
    });
    if (previous !== undefined && previous.image !== next.image) {
      await this.deps.recorder.record(md, {
        kind: "ImageDigestChanged",
        key: `ImageDigestChanged/${id}`,
        data: { from: previous.image, to: next.image, revision },
        eventType: "Normal",
        message: `image ${previous.image} -> ${next.image}`,
      });
    }
    if (previous !== undefined && previous.configHash !== next.configHash) {
      await this.deps.recorder.record(md, {
        kind: "ConfigChanged",
        key: `ConfigChanged/${id}`,
        data: { from: previous.configHash, to: next.configHash, revision },
        eventType: "Normal",
        message: `serving config ${previous.configHash} -> ${next.configHash}`,
      });
    }
    return { ...next, ledgerIndex: receipt.index };
  }

  private async finishRollout(
    md: ModelDeployment,
    rollout: RolloutRecord,
    outcome: "completed" | "failed",
  ): Promise<RolloutRecord> {
    const kind = outcome === "completed" ? "RolloutCompleted" : "RolloutFailed";
    const receipt = await this.deps.recorder.record(md, {
      kind,
      key: `${kind}/${md.metadata.uid ?? md.metadata.name}/${rollout.revision}-${rollout.templateHash}`,
      data: {
        revision: rollout.revision,
        image: rollout.image,
        configHash: rollout.configHash,
        templateHash: rollout.templateHash,
      },
      eventType: outcome === "completed" ? "Normal" : "Warning",
      message:
        outcome === "completed"
          ? `rollout ${rollout.revision} completed`
          : `rollout ${rollout.revision} failed: progress deadline exceeded`,
    });
    return {
      ...rollout,
      phase: outcome === "completed" ? "Completed" : "Failed",
      ledgerIndex: receipt.index,
      finishedAt: this.deps.clock().toISOString(),
    };
  }

  /** A deployment still serving a revoked model (or one with a revoked ancestor): say so, record it, maybe scale to zero. */
  private async revokedInUse(
    md: ModelDeployment,
    mv: ModelVersion,
    revoked: string,
    scaleToZero: boolean,
  ): Promise<void> {
    const namespace = md.metadata.namespace ?? "default";
    const deployment = this.deps.deployments.get(md.metadata.name, namespace);
    if (deployment === undefined) return;
    await this.deps.recorder.record(md, {
      kind: "RevokedModelInUse",
      key: `RevokedModelInUse/${md.metadata.uid ?? md.metadata.name}/${revoked}`,
      data: {
        modelVersion: mv.metadata.name,
        revoked,
        replicas: deployment.spec?.replicas ?? null,
        scaleToZero,
      },
      eventType: "Warning",
      message: `serves ${namespace}/${mv.metadata.name}, whose lineage includes revoked ${revoked}${scaleToZero ? "; scaling to zero" : ""}`,
    });
    if (scaleToZero && (deployment.spec?.replicas ?? 0) > 0)
      await this.deps.writes.scaleDeployment(namespace, md.metadata.name, 0);
  }

  /** Records each Pod running a digest other than the admitted one, once per pod and digest. */
  private async recordDrift(md: ModelDeployment): Promise<Drift[]> {
    const namespace = md.metadata.namespace ?? "default";
    const pods = this.deps.pods.select(namespace, md.spec.modelVersion, {
      [DEPLOYMENT_LABEL]: md.metadata.name,
    });
    const drift = findDrift(pods);
    for (const d of drift) {
      await this.deps.recorder.record(md, {
        kind: "DriftDetected",
        key: `DriftDetected/${d.podUid}/${d.running}`,
        data: { pod: d.pod, container: d.container, admitted: d.admitted, running: d.running },
        eventType: "Warning",
        message: `pod ${d.pod} runs ${d.running}, not the admitted ${d.admitted}`,
      });
    }
    return drift;
  }

  private async finalize(md: ModelDeployment): Promise<ReconcileResult> {
    const finalizers = md.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return done();
    await this.deps.recorder.record(md, {
      kind: "ModelDeploymentDeleted",
      key: `ModelDeploymentDeleted/${md.metadata.uid ?? md.metadata.name}`,
      data: {
        modelVersion: md.spec.modelVersion,
        image: md.spec.image,
        lastRevision: md.status?.currentRevision ?? null,
      },
      eventType: "Normal",
      message: `deleted; it served ${md.spec.modelVersion}`,
    });
    await this.deps.writes.setFinalizers(
      MODEL_DEPLOYMENT.plural,
      md.metadata.namespace ?? "default",
      md.metadata.name,
      finalizers,
      finalizers.filter((f) => f !== FINALIZER),
    );
    return done();
  }

  private configMaps(md: ModelDeployment): Promise<Record<string, Record<string, string>>> {
    return configMapData(
      this.core,
      md.metadata.namespace ?? "default",
      (md.spec.serving?.configMapRefs ?? []).map((r) => r.name),
    );
  }

  private async writeConditions(
    md: ModelDeployment,
    conditions: Array<Omit<Condition, "lastTransitionTime">>,
    extra: ModelDeploymentStatus = {},
  ): Promise<ReconcileResult> {
    const now = this.deps.clock();
    const generation = md.metadata.generation;
    const merged = conditions.reduce<Condition[]>(
      (list, c) =>
        setCondition(
          list,
          { ...c, ...(generation === undefined ? {} : { observedGeneration: generation }) },
          now,
        ),
      md.status?.conditions ?? [],
    );
    const status: ModelDeploymentStatus = {
      ...md.status,
      ...extra,
      conditions: merged,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
    if (!sameStatus(status, md.status))
      await this.deps.writes.patchStatus(
        MODEL_DEPLOYMENT.plural,
        md.metadata.namespace ?? "default",
        md.metadata.name,
        status,
      );
    return done();
  }
}
