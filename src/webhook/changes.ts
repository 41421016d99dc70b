// Admitted changes become ChangeAdmitted entries: who (the API server's userInfo, never the
// object), what (a redacted RFC 6902 diff) and the generation the object will have, so the
// operator's entries for that generation join to the change that caused them. Pure.
import type { LedgerEntry } from "../ledger/index.ts";
import {
  actorOf,
  entryFor,
  jsonPatch,
  recording,
  redactData,
  redactDeep,
  type Actor,
  type PatchOp,
} from "../trail/index.ts";
import { isRecord, type AdmissionRequest } from "./review.ts";
import { MODEL_VERSION_LABEL } from "./subjects.ts";

/** The objects whose changes are recorded, by `group/kind`. */
const RECORDED = new Set([
  "modelchain.io/ModelVersion",
  "modelchain.io/ModelDeployment",
  "apps/Deployment",
  "/ConfigMap",
]);

const metadataOf = (o: unknown): Record<string, unknown> =>
  isRecord(o) && isRecord(o["metadata"]) ? o["metadata"] : {};

const stringOf = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The part of an object a diff is taken of, redacted; annotations are left out (last-applied holds env in clear). */
function diffedPart(kind: string, object: unknown): Record<string, unknown> {
  if (!isRecord(object)) return {};
  if (kind === "ConfigMap") {
    const data = isRecord(object["data"]) ? redactData(object["data"]) : {};
    const binaryData = isRecord(object["binaryData"]) ? redactData(object["binaryData"]) : {};
    return { data, binaryData };
  }
  const labels = metadataOf(object)["labels"];
  return { metadata: { labels: isRecord(labels) ? labels : {} }, spec: redactDeep(object["spec"] ?? {}) };
}

/** Whether the review is of a Deployment modelchain gates (labelled now or before). */
function labelled(request: AdmissionRequest): boolean {
  const label = (o: unknown): unknown => {
    const labels = metadataOf(o)["labels"];
    return isRecord(labels) ? labels[MODEL_VERSION_LABEL] : undefined;
  };
  return label(request.object) !== undefined || label(request.oldObject) !== undefined;
}

/** Whether a review is of a change this webhook records (the caller has checked it was admitted). */
export function recordsChange(request: AdmissionRequest): boolean {
  const { group, kind } = request.kind;
  if (request.dryRun || !RECORDED.has(`${group}/${kind}`)) return false;
  if (!["CREATE", "UPDATE", "DELETE"].includes(request.operation)) return false;
  return kind !== "Deployment" || labelled(request);
}

export interface AdmittedChange {
  actor: Actor | null;
  generation: number | null;
  diff: PatchOp[];
}

/** The actor, the generation-to-be and the diff of an admitted review. */
export function admittedChange(request: AdmissionRequest): AdmittedChange {
  const { kind } = request.kind;
  const after = request.operation === "DELETE" ? null : request.object;
  const before = request.operation === "CREATE" ? null : request.oldObject;
  const generation = metadataOf(after ?? before)["generation"];
  return {
    actor: request.userInfo === undefined ? null : actorOf(request.userInfo),
    generation: typeof generation === "number" ? generation : null,
    diff: jsonPatch(
      before === null ? null : diffedPart(kind, before),
      after === null ? null : diffedPart(kind, after),
    ),
  };
}

/** The ChangeAdmitted entry of a review, or undefined when nothing is recorded (no change in what is diffed). */
export function changeEntry(request: AdmissionRequest, cluster: string, at: Date): LedgerEntry | undefined {
  if (!recordsChange(request)) return undefined;
  const change = admittedChange(request);
  if (request.operation === "UPDATE" && change.diff.length === 0) return undefined;
  const meta = metadataOf(request.operation === "DELETE" ? request.oldObject : request.object);
  const { group, version, kind } = request.kind;
  const uid = stringOf(meta["uid"]);
  const subject = {
    apiVersion: group === "" ? version : `${group}/${version}`,
    kind,
    metadata: {
      name: request.name || (stringOf(meta["name"]) ?? ""),
      ...(request.namespace ? { namespace: request.namespace } : {}),
      ...(uid === undefined ? {} : { uid }),
    },
  };
  const who = change.actor?.username ?? "an unknown user";
  const admitted = recording(
    "ChangeAdmitted",
    { reviewUid: request.uid },
    { reviewUid: request.uid, operation: request.operation, ...change },
    `${request.operation} by ${who}: ${change.diff.length} field(s) changed`,
  );
  return entryFor(subject, admitted, cluster, at);
}
