// Which objects the webhook gates, and what it reads of each. Pure.
import canonicalize from "canonicalize";
import { podSpecImages, type ImageRef } from "./images.ts";
import { asPersisted } from "./placement.ts";
import { isRecord, type AdmissionRequest } from "./review.ts";

export const GROUP = "modelchain.io";
export const MODEL_VERSION_LABEL = "modelchain.io/model-version";

/** A workload that serves a model: a ModelDeployment or a labelled apps/v1 Deployment. */
export interface Workload {
  type: "workload";
  resource: "modeldeployments" | "deployments";
  modelVersion: string;
  images: ImageRef[];
  /** The Pod template's image volumes (volumes[].image), each with where it was read. */
  imageVolumes?: ImageVolumeRef[];
  /** Why a workload is judged that no longer says it is one (an UPDATE that removed its label). */
  transition?: string;
}

export type Subject =
  | Workload
  | { type: "modelversion"; resource: "modelversions"; object: unknown; oldObject: unknown }
  /** `unplaced`: the review does not say which namespace it is for, so no selector can be applied. */
  | { type: "invalid"; resource: string; problem: string; unplaced?: boolean }
  | { type: "ungated"; resource: string; why?: "unchanged" | "revocation" | "scale-down" };

export interface ImageVolumeRef {
  name: string;
  /** As written: a string when well-formed (the API server's schema sees to that). */
  reference: unknown;
}

/** The image volumes of a Pod spec, as written. */
function imageVolumesOf(podSpec: Record<string, unknown>): ImageVolumeRef[] {
  const volumes = podSpec["volumes"];
  if (!Array.isArray(volumes)) return [];
  return volumes.flatMap((v: unknown, i) => {
    if (!isRecord(v) || !isRecord(v["image"])) return [];
    const name = typeof v["name"] === "string" ? v["name"] : `volumes[${i}]`;
    return [{ name, reference: v["image"]["reference"] }];
  });
}

/** The metric label for a request's resource: a fixed set, never a name. */
export type ResourceLabel = Subject["resource"];

function labelsOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object["metadata"];
  const labels = isRecord(metadata) ? metadata["labels"] : undefined;
  return isRecord(labels) ? labels : {};
}

/** spec.modelVersion may be a name or `{name}` (a local object reference). */
function modelVersionRef(spec: Record<string, unknown>): string | undefined {
  const ref = spec["modelVersion"] ?? spec["modelVersionRef"];
  if (typeof ref === "string" && ref.length > 0) return ref;
  if (isRecord(ref) && typeof ref["name"] === "string" && ref["name"].length > 0) return ref["name"];
  return undefined;
}

function modelDeployment(object: unknown): Subject {
  const resource = "modeldeployments";
  const spec = isRecord(object) ? object["spec"] : undefined;
  if (!isRecord(spec)) return { type: "invalid", resource, problem: "spec must be an object" };
  const modelVersion = modelVersionRef(spec);
  if (modelVersion === undefined)
    return { type: "invalid", resource, problem: "spec.modelVersion must name a ModelVersion" };
  const images: ImageRef[] = [{ path: "spec.image", image: spec["image"] }];
  const template = spec["template"] ?? spec["podTemplate"];
  if (isRecord(template)) images.push(...podSpecImages(template["spec"], "spec.template.spec"));
  return { type: "workload", resource, modelVersion, images };
}

function modelVersionLabel(object: unknown): unknown {
  return isRecord(object) ? labelsOf(object)[MODEL_VERSION_LABEL] : undefined;
}

/**
 * A labelled Deployment, or one whose old object was labelled: the API server sends an UPDATE
 * when either matches the webhook's object selector, and removing the label in the same change
 * as the image must not take the change out of the gate. Such an UPDATE is judged against the
 * ModelVersion the old label named.
 */
function deployment(object: unknown, oldObject: unknown): Subject {
  const resource = "deployments";
  if (!isRecord(object)) return { type: "invalid", resource, problem: "object must be a Deployment" };
  const label = modelVersionLabel(object);
  const oldLabel = modelVersionLabel(oldObject);
  const judged = label ?? oldLabel;
  if (judged === undefined) return { type: "ungated", resource };
  if (typeof judged !== "string" || judged.length === 0) {
    return { type: "invalid", resource, problem: `label ${MODEL_VERSION_LABEL} must name a ModelVersion` };
  }
  const spec = object["spec"];
  const template = isRecord(spec) ? spec["template"] : undefined;
  const podSpec = isRecord(template) ? template["spec"] : undefined;
  if (!isRecord(podSpec))
    return { type: "invalid", resource, problem: "spec.template.spec must be an object" };
  const images = podSpecImages(podSpec, "spec.template.spec");
  const imageVolumes = imageVolumesOf(podSpec);
  const workload: Workload = {
    type: "workload",
    resource,
    modelVersion: judged,
    images,
    ...(imageVolumes.length === 0 ? {} : { imageVolumes }),
  };
  if (label === undefined)
    workload.transition = `label ${MODEL_VERSION_LABEL} (was ${JSON.stringify(judged)}) removed`;
  return workload;
}

const RESOURCES: Record<string, string> = {
  "modelchain.io/ModelDeployment": "modeldeployments",
  "modelchain.io/ModelVersion": "modelversions",
  "apps/Deployment": "deployments",
};

/** What admission judges: the spec (less `omit`) and the model-version label. */
function gatedPart(object: unknown, omit: readonly string[] = []): string | undefined {
  if (!isRecord(object)) return undefined;
  const spec = isRecord(object["spec"])
    ? Object.fromEntries(Object.entries(object["spec"]).filter(([k]) => !omit.includes(k)))
    : null;
  return canonicalize({ spec, label: labelsOf(object)[MODEL_VERSION_LABEL] ?? null });
}

function samePart(object: unknown, oldObject: unknown, omit: readonly string[] = []): boolean {
  const now = gatedPart(object, omit);
  return now !== undefined && now === gatedPart(oldObject, omit);
}

function replicasOf(object: unknown): number {
  const spec = isRecord(object) ? object["spec"] : undefined;
  const replicas = isRecord(spec) ? spec["replicas"] : undefined;
  return typeof replicas === "number" ? replicas : 1;
}

/** Revoking must always be possible, by anyone allowed to update the object: only `revoked`
 * changes (the signature does not cover it), and it is set. */
function onlyRevokes(object: unknown, oldObject: unknown): boolean {
  const spec = isRecord(object) ? object["spec"] : undefined;
  return isRecord(spec) && isRecord(spec["revoked"]) && samePart(object, oldObject, ["revoked"]);
}

/**
 * Updates that never need a verdict: metadata only (finalizers, annotations, owner references
 * written by the operator), a revocation, or fewer replicas (taking a revoked model out of
 * service must not be blocked by its revocation).
 */
function updateExemption(
  request: AdmissionRequest,
  resource: string,
): "unchanged" | "revocation" | "scale-down" | undefined {
  if (request.operation !== "UPDATE" || resource === "other") return undefined;
  const { object, oldObject } = request;
  if (samePart(object, oldObject)) return "unchanged";
  if (resource === "modelversions") return onlyRevokes(object, oldObject) ? "revocation" : undefined;
  return samePart(object, oldObject, ["replicas"]) && replicasOf(object) <= replicasOf(oldObject)
    ? "scale-down"
    : undefined;
}

/**
 * Classifies a request. DELETE and CONNECT are ungated: nothing starts serving, and blocking a
 * delete would stop finalizers from completing it. An object being deleted is judged like any
 * other, so a finalizer-only (metadata) change passes as "unchanged" but a new image does not.
 */
export function subjectOf(request: AdmissionRequest): Subject {
  const { group, kind } = request.kind;
  const resource = RESOURCES[`${group}/${kind}`] ?? "other";
  const gatedOperation = request.operation === "CREATE" || request.operation === "UPDATE";
  if (!gatedOperation || resource === "other") return { type: "ungated", resource };
  const placed = asPersisted(request);
  if (!placed.ok) return { type: "invalid", resource, problem: placed.problem, unplaced: true };
  const exemption = updateExemption(placed.request, resource);
  if (exemption !== undefined) return { type: "ungated", resource, why: exemption };
  const { object, oldObject } = placed.request;
  if (resource === "modeldeployments") return modelDeployment(object);
  if (resource === "modelversions") return { type: "modelversion", resource, object, oldObject };
  return deployment(object, request.operation === "UPDATE" ? oldObject : null);
}
