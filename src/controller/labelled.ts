// Deployments that opt in with the label modelchain.io/model-version=<name> but are not
// ours: the same rollout, image digest, config and drift records as owned ones, through the
// same rollout log. Its state lives in one annotation on the Deployment, so each pass compares
// observed state with it (level-triggered) and a restart re-derives everything from the object.
import { CoreV1Api, type KubeConfig, type ObjectCache, type V1Deployment } from "@kubernetes/client-node";
import type { PodIndex } from "./pod-index.ts";
import { canonicalDigest, MODEL_VERSION_LABEL, specDigest, validateModelVersion } from "../api/index.ts";
import { objectId, RolloutLog, type Involved, type ObservedWorkload } from "../trail/index.ts";
import { configMapData, type KubeWrites } from "./kube.ts";
import type { LineageContext } from "./lineage-context.ts";
import { redactedConfig, rolloutOutcome, templateHash } from "./deployment-spec.ts";
import { driftRecording, findDrift } from "./drift.ts";
import { imageVolumeProblems } from "./artifact-pod.ts";
import { done, requeueAfter, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder } from "./recorder.ts";
import { annotationRolloutStore, formatLastRecorded, LAST_RECORDED } from "./rollout-stores.ts";

export { LAST_RECORDED } from "./rollout-stores.ts";

export interface LabelledDeps {
  deployments: ObjectCache<V1Deployment>;
  pods: PodIndex;
  ctx: LineageContext;
  recorder: EventRecorder;
  writes: KubeWrites;
  kubeConfig: KubeConfig;
  clock: () => Date;
  progressPollMs?: number;
}

/** The serving config of a Deployment we do not own: what its containers run with. */
function containerConfig(d: V1Deployment, configMaps: Record<string, Record<string, string>>) {
  const containers = d.spec?.template?.spec?.containers ?? [];
  return {
    containers: containers.map((c) => ({
      name: c.name,
      args: c.args ?? [],
      command: c.command ?? [],
      env: c.env ?? [],
      resources: c.resources ?? {},
    })),
    configMaps,
  };
}

export class LabelledDeploymentReconciler implements Reconciler {
  readonly name = "labelleddeployment";
  private readonly deps: LabelledDeps;
  private readonly core: CoreV1Api;

  constructor(deps: LabelledDeps) {
    this.deps = deps;
    this.core = deps.kubeConfig.makeApiClient(CoreV1Api);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const d = this.deps.deployments.get(name, namespace);
    const modelVersion = d?.metadata?.labels?.[MODEL_VERSION_LABEL];
    if (d === undefined || modelVersion === undefined) return done();
    const observed = await this.observe(d, modelVersion);
    const log = new RolloutLog({
      store: annotationRolloutStore(d, this.deps.writes),
      writer: this.deps.recorder,
      clock: this.deps.clock,
    });
    const { current, records } = await log.pass(observed, () => Promise.resolve(rolloutOutcome(d)));
    await this.checkImageVolumes(observed.subject, d, modelVersion);
    await this.recordDrift(observed.subject, d, modelVersion);
    const annotation = formatLastRecorded(records);
    if (annotation !== d.metadata?.annotations?.[LAST_RECORDED])
      await this.deps.writes.annotateDeployment(namespace, name, { [LAST_RECORDED]: annotation });
    return current.phase === "Started" ? requeueAfter(this.deps.progressPollMs ?? 10_000) : done();
  }

  private async observe(d: V1Deployment, modelVersion: string): Promise<ObservedWorkload> {
    const namespace = d.metadata?.namespace ?? "default";
    const name = d.metadata?.name ?? "";
    const uid = d.metadata?.uid;
    const subject: Involved = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, ...(uid === undefined ? {} : { uid }) },
    };
    const containers = d.spec?.template?.spec?.containers ?? [];
    const images = Object.fromEntries(containers.map((c) => [c.name, c.image ?? ""]));
    const serving = containerConfig(d, await this.configMaps(d));
    const config = canonicalDigest(serving);
    const mvObject = this.deps.ctx.modelVersions.get(modelVersion, namespace);
    const mv = mvObject === undefined ? undefined : validateModelVersion(mvObject);
    const mvDigest = mv?.ok ? specDigest(mv.value.spec) : "unknown";
    return {
      subject,
      workload: objectId(subject),
      modelVersion,
      modelSpecDigest: mvDigest,
      templateHash: templateHash(JSON.stringify(images), config, mvDigest),
      images,
      configHash: config,
      config: redactedConfig(serving),
      ...(d.metadata?.generation === undefined ? {} : { generation: d.metadata.generation }),
    };
  }

  /** Image volumes must hold the signed artifact: a Warning Event for each one that may not. */
  private async checkImageVolumes(subject: Involved, d: V1Deployment, modelVersion: string): Promise<void> {
    const mvObject = this.deps.ctx.modelVersions.get(modelVersion, d.metadata?.namespace ?? "default");
    const mv = mvObject === undefined ? undefined : validateModelVersion(mvObject);
    if (mv === undefined || !mv.ok) return;
    const volumes = d.spec?.template?.spec?.volumes ?? [];
    for (const problem of imageVolumeProblems(volumes, mv.value.spec.artifact))
      await this.deps.recorder.warn(subject, "ArtifactImageVolumeNotPinned", problem);
  }

  private async recordDrift(subject: Involved, d: V1Deployment, modelVersion: string): Promise<void> {
    const selector = d.spec?.selector?.matchLabels ?? {};
    const pods = this.deps.pods.select(d.metadata?.namespace ?? "", modelVersion, selector);
    for (const drift of findDrift(pods)) await this.deps.recorder.record(subject, driftRecording(drift));
  }

  private configMaps(d: V1Deployment): Promise<Record<string, Record<string, string>>> {
    const spec = d.spec?.template?.spec;
    const names = [
      ...(spec?.volumes ?? []).flatMap((v) => (v.configMap?.name ? [v.configMap.name] : [])),
      ...(spec?.containers ?? []).flatMap((c) =>
        (c.envFrom ?? []).flatMap((e) => (e.configMapRef?.name ? [e.configMapRef.name] : [])),
      ),
    ];
    return configMapData(this.core, d.metadata?.namespace ?? "default", names);
  }
}
