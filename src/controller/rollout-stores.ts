// The two places the rollout log keeps its state: a ModelDeployment's status.rollouts, and an
// annotation on a labelled Deployment we do not own (its status is the deployment
// controller's). Both are read from the informer's copy and written before anything is recorded.
import type { V1Deployment } from "@kubernetes/client-node";
import { MODEL_DEPLOYMENT, type ModelDeployment, type RolloutRecord as StatusRollout } from "../api/index.ts";
import type { RolloutRecord, RolloutStore } from "../trail/index.ts";
import type { KubeWrites } from "./kube.ts";

/** The container of an owned Deployment that serves the model (see deployment-spec.ts). */
export const SERVING_CONTAINER = "server";

/** How many rollouts status keeps (the newest). */
export const MAX_STATUS_ROLLOUTS = 10;

function fromStatus(r: StatusRollout): RolloutRecord {
  return {
    revision: r.revision,
    templateHash: r.templateHash,
    images: { [SERVING_CONTAINER]: r.image },
    configHash: r.configHash,
    phase: r.phase,
    recorded: r.ledgerIndex !== undefined,
    ...(r.ledgerIndex === undefined ? {} : { ledgerIndex: r.ledgerIndex }),
    ...(r.startedAt === undefined ? {} : { startedAt: r.startedAt }),
    ...(r.finishedAt === undefined ? {} : { finishedAt: r.finishedAt }),
  };
}

/** A ModelDeployment's status shows the serving image; the decision has no ledger index yet. */
export function toStatus(r: RolloutRecord): StatusRollout {
  return {
    revision: r.revision,
    templateHash: r.templateHash,
    image: r.images[SERVING_CONTAINER] ?? "",
    configHash: r.configHash,
    phase: r.phase,
    startedAt: r.startedAt ?? "",
    ...(r.recorded && r.ledgerIndex !== undefined ? { ledgerIndex: r.ledgerIndex } : {}),
    ...(r.finishedAt === undefined ? {} : { finishedAt: r.finishedAt }),
  };
}

export function statusRolloutStore(md: ModelDeployment, writes: KubeWrites): RolloutStore {
  return {
    load: () => (md.status?.rollouts ?? []).map(fromStatus),
    persist: (records) =>
      writes.patchStatus(MODEL_DEPLOYMENT.plural, md.metadata.namespace ?? "default", md.metadata.name, {
        rollouts: records.slice(-MAX_STATUS_ROLLOUTS).map(toStatus),
      }),
  };
}

export const LAST_RECORDED = "modelchain.io/last-recorded";

/** The annotation keeps the current rollout and the one before it (what changes are measured against). */
const ANNOTATION_ROLLOUTS = 2;

interface AnnotationV2 {
  v: 2;
  rollouts: RolloutRecord[];
}

function isRecordArray(value: unknown): value is RolloutRecord[] {
  return (
    Array.isArray(value) &&
    value.every(
      (r: unknown) =>
        typeof r === "object" &&
        r !== null &&
        "revision" in r &&
        typeof r.revision === "number" &&
        "templateHash" in r &&
        typeof r.templateHash === "string" &&
        "images" in r &&
        typeof r.images === "object" &&
        "configHash" in r &&
        typeof r.configHash === "string" &&
        "phase" in r &&
        "recorded" in r &&
        typeof r.recorded === "boolean",
    )
  );
}

/** The annotation as version 1 wrote it: the current rollout, with what ran before it inline. */
function fromV1(v: Record<string, unknown>): RolloutRecord[] | undefined {
  const current = { ...v, prior: undefined };
  const prior = v["prior"];
  const priors =
    typeof prior === "object" && prior !== null
      ? [{ ...prior, templateHash: "", phase: "Completed", recorded: true }]
      : [];
  const records: unknown[] = [...priors, current];
  return isRecordArray(records)
    ? records.map(({ revision, templateHash, images, configHash, phase, recorded }) => ({
        revision,
        templateHash,
        images,
        configHash,
        phase,
        recorded,
      }))
    : undefined;
}

/** A hand-edited or unreadable annotation is treated as absent: the next rollout is recorded afresh. */
export function parseLastRecorded(value: string | undefined): RolloutRecord[] {
  if (value === undefined) return [];
  try {
    const v: unknown = JSON.parse(value);
    if (typeof v !== "object" || v === null) return [];
    if ("v" in v && v.v === 2 && "rollouts" in v && isRecordArray(v.rollouts)) return v.rollouts;
    if ("templateHash" in v) return fromV1(v as Record<string, unknown>) ?? [];
  } catch {
    // not JSON: as absent
  }
  return [];
}

export function formatLastRecorded(records: readonly RolloutRecord[]): string {
  const annotation: AnnotationV2 = { v: 2, rollouts: records.slice(-ANNOTATION_ROLLOUTS) };
  return JSON.stringify(annotation);
}

export function annotationRolloutStore(d: V1Deployment, writes: KubeWrites): RolloutStore {
  const namespace = d.metadata?.namespace ?? "default";
  const name = d.metadata?.name ?? "";
  return {
    load: () => parseLastRecorded(d.metadata?.annotations?.[LAST_RECORDED]),
    persist: (records) =>
      writes.annotateDeployment(namespace, name, { [LAST_RECORDED]: formatLastRecorded(records) }),
  };
}
