// Deployments that opt in with the label modelchain.io/model-version=<name> but are not
// ours: the same rollout, image digest, config and drift records as owned ones. What was last
// recorded lives in one annotation on the Deployment, so each pass compares observed state
// with it (level-triggered) and a restart re-derives everything from the object.
import { CoreV1Api, type KubeConfig, type ObjectCache, type V1Deployment } from "@kubernetes/client-node";
import type { PodIndex } from "./pod-index.ts";
import { canonicalDigest, MODEL_VERSION_LABEL, specDigest, validateModelVersion } from "../api/index.ts";
import { configMapData, type KubeWrites } from "./kube.ts";
import type { LineageContext } from "./lineage-context.ts";
import { rolloutOutcome, templateHash } from "./deployment-spec.ts";
import { findDrift } from "./drift.ts";
import { done, requeueAfter, splitKey, type Reconciler, type ReconcileResult } from "./reconcile.ts";
import type { EventRecorder, Involved } from "./recorder.ts";

export const LAST_RECORDED = "modelchain.io/last-recorded";

interface Prior {
  images: Record<string, string>;
  configHash: string;
  revision: number;
}

interface LastRecorded extends Prior {
  templateHash: string;
  phase: "Started" | "Completed" | "Failed";
  /** False between deciding a rollout (annotation written) and recording it in the ledger. */
  recorded: boolean;
  /** What ran before this rollout, so a pass after a crash records the same transition. */
  prior?: Prior;
}

function parseLast(value: string | undefined): LastRecorded | undefined {
  if (value === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(value);
    if (
      typeof v === "object" &&
      v !== null &&
      "templateHash" in v &&
      "revision" in v &&
      "phase" in v &&
      "images" in v &&
      "configHash" in v &&
      "recorded" in v
    )
      return v as LastRecorded;
  } catch {
    // A hand-edited annotation is treated as absent: the next rollout is recorded afresh.
  }
  return undefined;
}

export interface LabelledDeps {
  deployments: ObjectCache<V1Deployment>;
  pods: PodIndex;
  ctx: LineageContext;
  recorder: EventRecorder;
  writes: KubeWrites;
  kubeConfig: KubeConfig;
  progressPollMs?: number;
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
    const subject: Involved = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, ...(d.metadata?.uid === undefined ? {} : { uid: d.metadata.uid }) },
    };
    const containers = d.spec?.template?.spec?.containers ?? [];
    const images = Object.fromEntries(containers.map((c) => [c.name, c.image ?? ""]));
    const config = canonicalDigest({
      containers: containers.map((c) => ({
        name: c.name,
        args: c.args ?? [],
        command: c.command ?? [],
        env: c.env ?? [],
        resources: c.resources ?? {},
      })),
      configMaps: await this.configMaps(d),
    });
    const mvObject = this.deps.ctx.modelVersions.get(modelVersion, namespace);
    const mv = mvObject === undefined ? undefined : validateModelVersion(mvObject);
    const mvDigest = mv?.ok ? specDigest(mv.value.spec) : "unknown";
    const hash = templateHash(JSON.stringify(images), config, mvDigest);
    let last = parseLast(d.metadata?.annotations?.[LAST_RECORDED]);
    const uid = d.metadata?.uid ?? name;
    const startKey = (r: LastRecorded) => `RolloutStarted/${uid}/${r.revision}-${r.templateHash}`;
    // A decided rollout whose start reached the ledger happened (finish recording it below);
    // one that did not, and is now superseded, never happened.
    if (
      last !== undefined &&
      !last.recorded &&
      last.templateHash !== hash &&
      (await this.deps.recorder.recorded(startKey(last)))
    ) {
      await this.recordStart(subject, last, modelVersion, mvDigest, startKey(last));
      last = { ...last, recorded: true };
    }
    if (last?.templateHash !== hash) {
      const prior =
        last === undefined
          ? undefined
          : last.recorded
            ? { images: last.images, configHash: last.configHash, revision: last.revision }
            : last.prior;
      last = {
        templateHash: hash,
        images,
        configHash: config,
        revision: (prior?.revision ?? 0) + 1,
        phase: "Started",
        recorded: false,
        ...(prior === undefined ? {} : { prior }),
      };
      // The annotation first, the ledger second (see modeldeployment.ts).
      await this.deps.writes.annotateDeployment(namespace, name, { [LAST_RECORDED]: JSON.stringify(last) });
    }
    if (!last.recorded) {
      await this.recordStart(subject, last, modelVersion, mvDigest, startKey(last));
      last = { ...last, recorded: true };
    }
    const outcome = rolloutOutcome(d);
    if (last.phase === "Started" && outcome !== "progressing") {
      const kind = outcome === "completed" ? "RolloutCompleted" : "RolloutFailed";
      await this.deps.recorder.record(subject, {
        kind,
        key: `${kind}/${uid}/${last.revision}-${hash}`,
        data: { revision: last.revision, templateHash: hash },
        eventType: outcome === "completed" ? "Normal" : "Warning",
        message: `rollout ${last.revision} ${outcome}`,
      });
      last = { ...last, phase: outcome === "completed" ? "Completed" : "Failed" };
    }
    await this.recordDrift(subject, d, modelVersion);
    const annotation = JSON.stringify(last);
    if (annotation !== d.metadata?.annotations?.[LAST_RECORDED])
      await this.deps.writes.annotateDeployment(namespace, name, { [LAST_RECORDED]: annotation });
    return last.phase === "Started" ? requeueAfter(this.deps.progressPollMs ?? 10_000) : done();
  }

  /** The start first (it marks the rollout as having happened), then what changed since the prior one. */
  private async recordStart(
    subject: Involved,
    r: LastRecorded,
    modelVersion: string,
    mvDigest: string,
    key: string,
  ): Promise<void> {
    const { prior, revision } = r;
    const id = key.slice("RolloutStarted/".length);
    await this.deps.recorder.record(subject, {
      kind: "RolloutStarted",
      key,
      data: {
        revision,
        modelVersion,
        modelSpecDigest: mvDigest,
        images: r.images,
        configHash: r.configHash,
        templateHash: r.templateHash,
      },
      eventType: "Normal",
      message: `rollout ${revision} of ${modelVersion}`,
    });
    if (prior !== undefined && JSON.stringify(prior.images) !== JSON.stringify(r.images)) {
      await this.deps.recorder.record(subject, {
        kind: "ImageDigestChanged",
        key: `ImageDigestChanged/${id}`,
        data: { from: prior.images, to: r.images, revision, modelVersion },
        eventType: "Normal",
        message: `images ${JSON.stringify(prior.images)} -> ${JSON.stringify(r.images)}`,
      });
    }
    if (prior !== undefined && prior.configHash !== r.configHash) {
      await this.deps.recorder.record(subject, {
        kind: "ConfigChanged",
        key: `ConfigChanged/${id}`,
        data: { from: prior.configHash, to: r.configHash, revision, modelVersion },
        eventType: "Normal",
        message: `config ${prior.configHash} -> ${r.configHash}`,
      });
    }
  }

  private async recordDrift(subject: Involved, d: V1Deployment, modelVersion: string): Promise<void> {
    const pods = this.deps.pods.select(
      d.metadata?.namespace ?? "",
      modelVersion,
      d.spec?.selector?.matchLabels ?? {},
    );
    for (const drift of findDrift(pods)) {
      await this.deps.recorder.record(subject, {
        kind: "DriftDetected",
        key: `DriftDetected/${drift.podUid}/${drift.running}`,
        data: { ...drift },
        eventType: "Warning",
        message: `pod ${drift.pod} runs ${drift.running}, not the admitted ${drift.admitted}`,
      });
    }
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
