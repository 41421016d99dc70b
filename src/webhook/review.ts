// AdmissionReview admission.k8s.io/v1: parsing what the API server sends and building what
// it expects back. Everything here is pure; the HTTP layer maps ReviewInputError to a 400.

export const REVIEW_API_VERSION = "admission.k8s.io/v1";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
const OPERATIONS: readonly string[] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** The part of `request` the webhook reads; objects stay `unknown` until a check narrows them. */
export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: Operation;
  namespace: string;
  name: string;
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
  /** Who sent it, as the API server authenticated them; absent only in hand-made reviews. */
  userInfo?: UserInfo | undefined;
}

/** `request.userInfo` (authentication.k8s.io UserInfo), less `extra`. */
export interface UserInfo {
  username: string;
  uid: string;
  groups: string[];
}

/** The review cannot be answered at all; `field` names what was wrong (HTTP 400). */
export class ReviewInputError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`admission review: ${field} ${problem}`);
    this.name = "ReviewInputError";
    this.field = field;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringField(obj: Record<string, unknown>, field: string, path: string, required: boolean): string {
  const value = obj[field];
  if (value === undefined && !required) return "";
  if (typeof value !== "string" || (required && value.length === 0)) {
    throw new ReviewInputError(path, required ? "must be a non-empty string" : "must be a string");
  }
  return value;
}

function parseKind(value: unknown): GroupVersionKind {
  if (!isRecord(value)) throw new ReviewInputError("request.kind", "must be an object");
  return {
    group: stringField(value, "group", "request.kind.group", false),
    version: stringField(value, "version", "request.kind.version", true),
    kind: stringField(value, "kind", "request.kind.kind", true),
  };
}

function isOperation(value: unknown): value is Operation {
  return typeof value === "string" && OPERATIONS.includes(value);
}

function parseOperation(value: unknown): Operation {
  if (!isOperation(value))
    throw new ReviewInputError("request.operation", `must be one of ${OPERATIONS.join(", ")}`);
  return value;
}

function parseUserInfo(value: unknown): UserInfo | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new ReviewInputError("request.userInfo", "must be an object");
  const groups = value["groups"] ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string"))
    throw new ReviewInputError("request.userInfo.groups", "must be a list of strings");
  return {
    username: stringField(value, "username", "request.userInfo.username", false),
    uid: stringField(value, "uid", "request.userInfo.uid", false),
    groups,
  };
}

/** Checks the envelope of an AdmissionReview v1 and returns its request. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new ReviewInputError("body", "must be a JSON object");
  if (body["apiVersion"] !== REVIEW_API_VERSION) {
    throw new ReviewInputError(
      "apiVersion",
      `must be ${REVIEW_API_VERSION}, got ${JSON.stringify(body["apiVersion"])}`,
    );
  }
  if (body["kind"] !== "AdmissionReview") {
    throw new ReviewInputError("kind", `must be AdmissionReview, got ${JSON.stringify(body["kind"])}`);
  }
  const request = body["request"];
  if (!isRecord(request)) throw new ReviewInputError("request", "must be an object");
  const dryRun = request["dryRun"];
  if (dryRun !== undefined && typeof dryRun !== "boolean")
    throw new ReviewInputError("request.dryRun", "must be a boolean");
  return {
    uid: stringField(request, "uid", "request.uid", true),
    kind: parseKind(request["kind"]),
    operation: parseOperation(request["operation"]),
    namespace: stringField(request, "namespace", "request.namespace", false),
    name: stringField(request, "name", "request.name", false),
    object: request["object"] ?? null,
    oldObject: request["oldObject"] ?? null,
    dryRun: dryRun === true,
    userInfo: parseUserInfo(request["userInfo"]),
  };
}

export interface ReviewAnswer {
  allowed: boolean;
  message: string;
  warnings: readonly string[];
  /** HTTP-like status code for a denial: 403 for a policy denial, 500 when the webhook failed. */
  code: number;
}

/** The AdmissionReview sent back; `response.uid` must echo `request.uid`. */
export function admissionResponse(uid: string, answer: ReviewAnswer): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: answer.allowed };
  if (!answer.allowed) {
    // metav1.Status reasons are a fixed vocabulary; the check name travels in the message.
    const reason = answer.code === 403 ? "Forbidden" : "InternalError";
    response["status"] = { code: answer.code, message: answer.message, reason };
  }
  if (answer.warnings.length > 0) response["warnings"] = answer.warnings;
  return { apiVersion: REVIEW_API_VERSION, kind: "AdmissionReview", response };
}
