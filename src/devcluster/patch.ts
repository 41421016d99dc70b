// The PATCH bodies the API server accepts, applied to a copy of the current object.
import fastJsonPatch from "fast-json-patch";
import { ApiError, type KubeObject } from "./store.ts";

const { applyPatch } = fastJsonPatch;

/** RFC 7386 JSON merge patch (strategic merge is treated as merge here: a documented simplification). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

export function applyPatchBody(
  contentType: string,
  current: KubeObject | undefined,
  body: unknown,
): KubeObject {
  const type = contentType.split(";")[0]?.trim();
  if (type === "application/json-patch+json") {
    if (current === undefined) throw new ApiError(404, "NotFound", "the object to patch does not exist");
    if (!Array.isArray(body))
      throw new ApiError(400, "BadRequest", "a JSON patch must be an array of operations");
    try {
      return applyPatch(structuredClone(current), body, true, false).newDocument as KubeObject;
    } catch (e: unknown) {
      const message = e instanceof Error ? e.message : String(e);
      // The real server answers a failed `test` with 422 Invalid.
      throw new ApiError(422, "Invalid", `the JSON patch could not be applied: ${message}`);
    }
  }
  if (
    type === "application/merge-patch+json" ||
    type === "application/strategic-merge-patch+json" ||
    type === "application/apply-patch+yaml"
  ) {
    if (current === undefined && type !== "application/apply-patch+yaml")
      throw new ApiError(404, "NotFound", "the object to patch does not exist");
    return mergePatch(current ?? {}, body) as KubeObject;
  }
  throw new ApiError(415, "UnsupportedMediaType", `unsupported patch type ${contentType}`);
}
