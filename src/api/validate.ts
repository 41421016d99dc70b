// Schema validation of modelchain objects with the CRDs' own schemas (ajv), closed to
// unknown fields as kubectl's strict field validation is. Errors name the field path.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { API_VERSION } from "./group.ts";
import { parameterProblems } from "./parameters.ts";
import { selectorProblems } from "./selector.ts";
import { servingProblems } from "./serving-shape.ts";
import { unsignableValues } from "./signable.ts";
import { signatureProblems, trustProblems } from "./signing-shape.ts";
import { modelDeploymentSchema, modelTrustPolicySchema, modelVersionSchema, type Schema } from "./schemas.ts";
import type { ModelDeployment, ModelTrustPolicy, ModelVersion } from "./types.ts";

/** One problem with an object, e.g. `spec.datasets[1].digest: must match ^sha256:[a-f0-9]{64}$`. */
export interface FieldError {
  field: string;
  message: string;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function describeErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join("; ");
}

/** Objects with listed properties and no additionalProperties are closed: unknown fields are errors. */
function closed(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  const props = copy["properties"];
  if (typeof props === "object" && props !== null) {
    copy["properties"] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, closed(v as Schema)]));
    if (copy["additionalProperties"] === undefined) copy["additionalProperties"] = false;
  }
  const items = copy["items"];
  if (typeof items === "object" && items !== null) copy["items"] = closed(items as Schema);
  return copy;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));

const metadata: Schema = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 253, pattern: "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$" },
    namespace: { type: "string" },
  },
  required: ["name"],
};

function compile(kind: string, schema: Schema): ValidateFunction {
  const top = closed(schema);
  return ajv.compile({
    ...top,
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { const: kind },
      metadata,
      ...(top["properties"] as Schema),
    },
    required: ["apiVersion", "kind", "metadata", "spec"],
    // metadata carries server-set fields (uid, managedFields, …) that are not ours to close.
    additionalProperties: false,
  });
}

const validators = {
  ModelVersion: compile("ModelVersion", modelVersionSchema),
  ModelDeployment: compile("ModelDeployment", modelDeploymentSchema),
  ModelTrustPolicy: compile("ModelTrustPolicy", modelTrustPolicySchema),
};

/** "/spec/datasets/1/digest" → "spec.datasets[1].digest" */
function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  return (
    parts.reduce(
      (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === "" ? part : `${path}.${part}`),
      "",
    ) || "(object)"
  );
}

function toFieldError(e: ErrorObject): FieldError {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { field: fieldPath(e.instancePath, String(params["missingProperty"])), message: "is required" };
    case "additionalProperties":
      return {
        field: fieldPath(e.instancePath, String(params["additionalProperty"])),
        message: "is not a known field",
      };
    case "pattern":
      return { field: fieldPath(e.instancePath), message: `must match ${String(params["pattern"])}` };
    case "enum":
      return {
        field: fieldPath(e.instancePath),
        message: `must be one of ${(params["allowedValues"] as unknown[]).join(", ")}`,
      };
    case "const":
      return {
        field: fieldPath(e.instancePath),
        message: `must be ${JSON.stringify(params["allowedValue"])}`,
      };
    default:
      return { field: fieldPath(e.instancePath), message: e.message ?? e.keyword };
  }
}

/** The typed value is the original object (all its metadata), once its user-written part passed. */
function validateWith<T>(validate: ValidateFunction, value: unknown): Validation<T> {
  if (validate(withoutServerFields(value))) return { ok: true, value: value as T };
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== "anyOf").map(toFieldError);
  const unique = errors.filter(
    (e, i) => errors.findIndex((o) => o.field === e.field && o.message === e.message) === i,
  );
  return { ok: false, errors: unique };
}

/** Schema-valid, and every value of the spec (what signatures cover) one a signature can pin down. */
export function validateModelVersion(value: unknown): Validation<ModelVersion> {
  // Said in words first: the schema refuses a list or an object in its own terms (too many items).
  const parameters = parameterProblems(parametersOf(value));
  if (parameters.length > 0) return { ok: false, errors: parameters };
  const checked = validateWith<ModelVersion>(validators.ModelVersion, value);
  if (!checked.ok) return checked;
  const problems = [
    ...signatureProblems(checked.value.spec.signatures),
    ...unsignableValues(checked.value.spec, "spec"),
  ];
  return problems.length === 0 ? checked : { ok: false, errors: problems };
}

export function validateModelDeployment(value: unknown): Validation<ModelDeployment> {
  const checked = validateWith<ModelDeployment>(validators.ModelDeployment, value);
  if (!checked.ok) return checked;
  const problems = servingProblems(checked.value.spec);
  return problems.length === 0 ? checked : { ok: false, errors: problems };
}

export function validateModelTrustPolicy(value: unknown): Validation<ModelTrustPolicy> {
  const checked = validateWith<ModelTrustPolicy>(validators.ModelTrustPolicy, value);
  if (!checked.ok) return checked;
  const problems = [
    ...selectorProblems(checked.value.spec.namespaceSelector, "spec.namespaceSelector"),
    ...trustProblems(checked.value.spec),
  ];
  return problems.length === 0 ? checked : { ok: false, errors: problems };
}

const field = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;

/** spec.training.parameters when it is a map, as read (before the schema has passed). */
function parametersOf(value: unknown): Record<string, unknown> | undefined {
  const parameters = field(field(field(value, "spec"), "training"), "parameters");
  return typeof parameters === "object" && parameters !== null && !Array.isArray(parameters)
    ? (parameters as Record<string, unknown>)
    : undefined;
}

/**
 * Validation looks at what a user writes: metadata beyond name/namespace (uid, labels,
 * managedFields…) is the server's business, so only those two are checked.
 */
function withoutServerFields(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  const meta = object["metadata"];
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return value;
  const { name, namespace } = meta as Record<string, unknown>;
  return {
    ...object,
    metadata: { ...(name === undefined ? {} : { name }), ...(namespace === undefined ? {} : { namespace }) },
  };
}
