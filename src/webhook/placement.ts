// Where a reviewed object would be persisted. Every gated kind is namespaced, and the API server
// stores an object in request.namespace (it fills in an omitted metadata.namespace and refuses
// one that differs). The decision reads namespaces from one place only: a review whose object
// names another namespace, or that has none, is not well-formed and is denied. Pure.
import { isRecord, type AdmissionRequest } from "./review.ts";

export type Placement = { ok: true; request: AdmissionRequest } | { ok: false; problem: string };

/** The object with metadata.namespace as the API server would persist it, or what disagrees. */
function placed(object: unknown, field: string, namespace: string): { object: unknown; problem?: string } {
  if (!isRecord(object) || !isRecord(object["metadata"])) return { object };
  const metadata = object["metadata"];
  const own = metadata["namespace"];
  if (own === undefined || own === "") return { object: { ...object, metadata: { ...metadata, namespace } } };
  if (own === namespace) return { object };
  return {
    object,
    problem: `${field}.metadata.namespace ${JSON.stringify(own)} differs from request.namespace ${JSON.stringify(namespace)}`,
  };
}

/** The request with both objects placed in request.namespace. */
export function asPersisted(request: AdmissionRequest): Placement {
  const namespace = request.namespace;
  if (namespace === "") {
    return {
      ok: false,
      problem: `request.namespace "" for a namespaced ${request.kind.kind}: where it would be persisted is unknown`,
    };
  }
  const object = placed(request.object, "object", namespace);
  const oldObject = placed(request.oldObject, "oldObject", namespace);
  const problem = object.problem ?? oldObject.problem;
  if (problem !== undefined) return { ok: false, problem };
  return { ok: true, request: { ...request, object: object.object, oldObject: oldObject.object } };
}
