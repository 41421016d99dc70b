import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";

/** A list response without `items` or `metadata` (CustomObjectsApi returns it untyped). */
export class ListResponseInvalid extends Error {
  readonly resource: string;
  constructor(resource: string, problem: string) {
    super(`list of ${resource}: ${problem}`);
    this.name = "ListResponseInvalid";
    this.resource = resource;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The list an informer needs from an untyped response; items that are not objects are dropped. */
export function listOf(value: unknown, resource: string): KubernetesListObject<KubernetesObject> {
  if (!isRecord(value)) throw new ListResponseInvalid(resource, "the response is not an object");
  const items = value["items"];
  const metadata = value["metadata"];
  if (!Array.isArray(items)) throw new ListResponseInvalid(resource, "the response has no items array");
  if (!isRecord(metadata)) throw new ListResponseInvalid(resource, "the response has no metadata");
  return {
    apiVersion: typeof value["apiVersion"] === "string" ? value["apiVersion"] : "v1",
    kind: typeof value["kind"] === "string" ? value["kind"] : "List",
    metadata,
    items: items.filter(isRecord),
  };
}
