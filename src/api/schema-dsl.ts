// The few builders the CRD schemas are written with (schemas.ts, schemas-signing.ts).
export type Schema = Record<string, unknown>;

export const DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$";
// models:/NAME/VERSION and runs:/RUN/PATH are MLflow's own URIs (one slash): a registered model
// version, a run's artifact. MLflow names hold neither "/" nor ":"; a version is a number.
export const ARTIFACT_URI_PATTERN =
  "^((oci|s3|gs|https|hf|pvc)://.+|models:/[^/:]+/[1-9][0-9]*|runs:/[^/]+(/.*)?)$";
export const DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

export const str = (extra: Schema = {}): Schema => ({ type: "string", ...extra });
export const int = (extra: Schema = {}): Schema => ({ type: "integer", ...extra });
export const bool = (extra: Schema = {}): Schema => ({ type: "boolean", ...extra });
export const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: "array", items, ...extra });
export const stringMap = (): Schema => ({ type: "object", additionalProperties: { type: "string" } });
export function obj(properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema {
  return { type: "object", properties, ...(required.length > 0 ? { required } : {}), ...extra };
}

/** CEL: exactly one of the fields is set. */
export function exactlyOne(fields: readonly string[]): string {
  return `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(" + ")} == 1`;
}
