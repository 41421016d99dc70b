// Which objects the webhook gates, and what it reads of each. Pure.
import canonicalize from "canonicalize";
import { podSpecImages, type ImageRef } from "./images.ts";
import { isRecord, type AdmissionRequest } from "./review.ts";

export const GROUP = "modelchain.io";
export const MODEL_VERSION_LABEL = "modelchain.io/model-version";

/** A workload that serves a model: a ModelDeployment or a labelled apps/v1 Deployment. */
export interface Workload {
  type: "workload";
  resource: "modeldeployments" | "deployments";
  modelVersion: string;
  images: ImageRef[];
}

export type Subject =
  | Workload
  | { type: "modelversion"; resource: "modelversions"; object: unknown }
  | { type: "invalid"; resource: string; problem: string }
  | { type: "ungated"; resource: string; why?: "unchanged" | "revocation" | "scale-down" };

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

function deployment(object: unknown): Subject {
  const resource = "deployments";
  if (!isRecord(object)) return { type: "invalid", resource, problem: "object must be a Deployment" };
  const label = labelsOf(object)[MODEL_VERSION_LABEL];
  if (label === undefined) return { type: "ungated", resource };
  if (typeof label !== "string" || label.length === 0) {
    return { type: "invalid", resource, problem: `label ${MODEL_VERSION_LABEL} must name a ModelVersion` };
  }
  const spec = object["spec"];
  const template = isRecord(spec) ? spec["template"] : undefined;
  const podSpec = isRecord(template) ? template["spec"] : undefined;
  if (!isRecord(podSpec))
    return { type: "invalid", resource, problem: "spec.template.spec must be an object" };
  return {
    type: "workload",
    resource,
    modelVersion: label,
    images: podSpecImages(podSpec, "spec.template.spec"),
  };
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

/** Revoking must always be possible, even without the signing key: the signature covers
 * `revoked`, so a revocation by an operator on call would otherwise fail the signature check. */
function onlyRevokes(object: unknown, oldObject: unknown): boolean {
  const spec = isRecord(object) ? object["spec"] : undefined;
  return (
    isRecord(spec) && isRecord(spec["revoked"]) && samePart(object, oldObject, ["revoked", "signatures"])
  );
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

function isBeingDeleted(object: unknown): boolean {
  const metadata = isRecord(object) ? object["metadata"] : undefined;
  return isRecord(metadata) && typeof metadata["deletionTimestamp"] === "string";
}

/**
 * Classifies a request. Deletes, connects and objects already being deleted are ungated:
 * blocking them would stop finalizers from completing a deletion.
 */
export function subjectOf(request: AdmissionRequest): Subject {
  const { group, kind } = request.kind;
  const resource = RESOURCES[`${group}/${kind}`] ?? "other";
  const gatedOperation = request.operation === "CREATE" || request.operation === "UPDATE";
  if (!gatedOperation || isBeingDeleted(request.object)) return { type: "ungated", resource };
  const exemption = updateExemption(request, resource);
  if (exemption !== undefined) return { type: "ungated", resource, why: exemption };
  if (group === GROUP && kind === "ModelDeployment") return modelDeployment(request.object);
  if (group === GROUP && kind === "ModelVersion")
    return { type: "modelversion", resource: "modelversions", object: request.object };
  if (group === "apps" && kind === "Deployment") return deployment(request.object);
  return { type: "ungated", resource };
}
