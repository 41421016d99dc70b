// Reading a ledger entry's `data`: JSON from the ledger, typed by its kind only by convention, so
// every field is read defensively (a missing or mistyped field reads as empty, never throws).
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const record = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});

export const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);

export const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];

/** A rollout's images by container: v2 entries write `images`, v1 ModelDeployment entries `image`. */
export function rolloutImages(data: Record<string, unknown>): Record<string, string> {
  const images = Object.entries(record(data["images"]));
  if (images.length > 0) return Object.fromEntries(images.map(([k, v]) => [k, str(v)]));
  return data["image"] === undefined ? {} : { "": str(data["image"]) };
}
