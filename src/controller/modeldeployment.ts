// ModelDeployment reconciler: admit (lineage), apply the owned Deployment, and record every
// rollout, image digest and config change exactly once; ModelDeploymentDeleted through a
// finalizer removed only after the entry is recorded.
import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
  type V1Pod,
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
} from "../api/index.ts";
import { objectId, recording, RolloutLog } from "../trail/index.ts";
import { configMapData, type KubeWrites } from "./kube.ts";
import { failureSummary, verdicts, verifiedUnderAll, type LineageContext } from "./lineage-context.ts";
import {
  configHash,
  DEPLOYMENT_LABEL,
  desiredDeployment,
  redactedConfig,
  rolloutOutcome,
  servingConfig,
  templateHash,
} from "./deployment-spec.ts";
import { driftRecording, findDrift, type Drift } from "./drift.ts";
import { delivery } from "./delivery.ts";
import type { ArtifactPod } from "./artifact-pod.ts";
import { recordArtifactOutcomes } from "./artifact-trail.ts";
import { notAdmittedConditions, rolloutConditions } from "./modeldeployment-status.ts";
import { MAX_STATUS_ROLLOUTS, SERVING_CONTAINER, statusRolloutStore, toStatus } from "./rollout-stores.ts";
import { sameStatus } from "./modelversion.ts";
import { done, requeueAfter, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";

/** How soon a deployment of a revoked model looks again for the revocation's ledger entry. */
const REVOCATION_WAIT_MS = 500;

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
  /** The modelchain image (pinned by digest) that fetch and verify init containers run. */
  artifactImage?: string;
}

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
      const revoked = results.find((r) => r.verdict.revoked !== undefined)?.verdict.revoked;
      const inUse =
        revoked === undefined
          ? "recorded"
          : await this.revokedInUse(
              md,
              mv,
              revoked,
              results.some((r) => r.scaleToZero),
            );
      const admitted = {
        type: "Admitted",
        status: "False" as const,
        reason: revoked ? "ModelRevoked" : "LineageNotVerified",
        message: failureSummary(results),
      };
      const drift = await this.recordDrift(md);
      const deployment = this.deps.deployments.get(md.metadata.name, namespace);
      await this.writeConditions(md, notAdmittedConditions(admitted, deployment, drift));
      // The revocation itself is recorded by the ModelVersion's reconciler; look again shortly.
      return inUse === "recorded" ? done() : requeueAfter(REVOCATION_WAIT_MS);
    }
    const files = results.find((r) => r.verdict.artifactFiles !== undefined)?.verdict.artifactFiles;
    const planned = delivery(md, mv, this.deps.artifactImage, files);
    if (!planned.ok) {
      await this.deps.recorder.warn(md, planned.refusal.reason, planned.refusal.message);
      return this.writeConditions(md, [planned.refusal]);
    }
    if (planned.pod.filesOmitted !== undefined)
      await this.deps.recorder.warn(md, "ArtifactFileListOmitted", planned.pod.filesOmitted);
    return this.rollout(
      md,
      mv,
      planned.pod,
      verifiedUnderAll(results)
        ? "lineage verified"
        : `admitted by a non-enforcing policy: ${failureSummary(results)}`,
    );
  }

  private async rollout(
    md: ModelDeployment,
    mv: ModelVersion,
    artifact: ArtifactPod,
    admittedBecause: string,
  ): Promise<ReconcileResult> {
    const namespace = md.metadata.namespace ?? "default";
    const serving = servingConfig(md, await this.configMaps(md));
    const config = configHash(serving);
    const mvDigest = specDigest(mv.spec);
    const hash = templateHash(md.spec.image, config, mvDigest, artifact.initContainers[0]?.image);
    const log = new RolloutLog({
      store: statusRolloutStore(md, this.deps.writes),
      writer: this.deps.recorder,
      clock: this.deps.clock,
    });
    const observed = {
      subject: md,
      workload: objectId(md),
      modelVersion: md.spec.modelVersion,
      modelSpecDigest: mvDigest,
      templateHash: hash,
      images: { [SERVING_CONTAINER]: md.spec.image },
      configHash: config,
      config: redactedConfig(serving),
      ...(md.metadata.generation === undefined ? {} : { generation: md.metadata.generation }),
    };
    const { current, records } = await log.pass(observed, async (decided) => {
      await this.deps.writes.applyDeployment(
        desiredDeployment({
          md,
          modelSpecDigest: mvDigest,
          configHash: config,
          templateHash: hash,
          ledgerIndex: decided.ledgerIndex ?? 0,
          artifact,
        }),
      );
      return rolloutOutcome(this.deps.deployments.get(md.metadata.name, namespace), hash);
    });
    const drift = await this.recordDrift(md);
    const artifactChecked = await recordArtifactOutcomes(this.deps.recorder, md, {
      artifact: mv.spec.artifact,
      rollout: current,
      pods: this.podsOf(md),
      byInitContainer: artifact.initContainers.length > 0,
    });
    const deployment = this.deps.deployments.get(md.metadata.name, namespace);
    const conditions = [...rolloutConditions(admittedBecause, current, deployment, drift), artifactChecked];
    const status: ModelDeploymentStatus = {
      currentRevision: current.revision,
      specDigest: mvDigest,
      configHash: config,
      rollouts: records.slice(-MAX_STATUS_ROLLOUTS).map(toStatus),
    };
    await this.writeConditions(md, conditions, status);
    return current.phase === "Started" ? requeueAfter(this.deps.progressPollMs ?? 10_000) : done();
  }

  /** Whether the revocation of `revoked` (namespace/name) is in the ledger yet (read by verdicts()). */
  private revocationRecorded(revoked: string): boolean {
    const [namespace = "", name = ""] = revoked.split("/");
    const uid = this.deps.ctx.modelVersions.get(name, namespace)?.metadata?.uid;
    return this.deps.ctx.trail.revocations.of(namespace, name, uid).state === "revoked";
  }

  /**
   * A deployment still serving a revoked model (or one with a revoked ancestor): say so, record
   * it, maybe scale to zero. Only once the revocation is in the ledger, so an auditor reads the
   * revocation first and then what served the model.
   */
  private async revokedInUse(
    md: ModelDeployment,
    mv: ModelVersion,
    revoked: string,
    scaleToZero: boolean,
  ): Promise<"recorded" | "waiting"> {
    const namespace = md.metadata.namespace ?? "default";
    const deployment = this.deps.deployments.get(md.metadata.name, namespace);
    if (deployment === undefined) return "recorded";
    if (!this.revocationRecorded(revoked)) return "waiting";
    const data = {
      modelVersion: mv.metadata.name,
      revoked,
      replicas: deployment.spec?.replicas ?? null,
      scaleToZero,
    };
    const message = `serves ${namespace}/${mv.metadata.name}, whose lineage includes revoked ${revoked}${scaleToZero ? "; scaling to zero" : ""}`;
    await this.deps.recorder.record(
      md,
      recording("RevokedModelInUse", { workload: objectId(md), revoked }, data, message),
    );
    if (scaleToZero && (deployment.spec?.replicas ?? 0) > 0)
      await this.deps.writes.scaleDeployment(namespace, md.metadata.name, 0);
    return "recorded";
  }

  private podsOf(md: ModelDeployment): V1Pod[] {
    return this.deps.pods.select(md.metadata.namespace ?? "default", md.spec.modelVersion, {
      [DEPLOYMENT_LABEL]: md.metadata.name,
    });
  }

  /** Records each Pod running a digest other than the admitted one, once per pod and digest. */
  private async recordDrift(md: ModelDeployment): Promise<Drift[]> {
    const drift = findDrift(this.podsOf(md));
    for (const d of drift) await this.deps.recorder.record(md, driftRecording(d));
    return drift;
  }

  private async finalize(md: ModelDeployment): Promise<ReconcileResult> {
    const finalizers = md.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return done();
    const data = {
      modelVersion: md.spec.modelVersion,
      image: md.spec.image,
      lastRevision: md.status?.currentRevision ?? null,
    };
    const deleted = recording(
      "ModelDeploymentDeleted",
      { workload: objectId(md) },
      data,
      `deleted; it served ${md.spec.modelVersion}`,
    );
    await this.deps.recorder.record(md, deleted);
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
