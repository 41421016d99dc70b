// The same decision offline (`modelchain check`): each manifest object is judged as if it were
// being created, against a cache filled from a directory.
import { admissionDecision, type AdmissionDecision } from "./decision.ts";
import type { VerifiedCache } from "./cache.ts";
import type { AdmissionRequest } from "./review.ts";
import { isRecord } from "./review.ts";
import type { ManifestObject } from "./source-dir.ts";

export interface CheckResult {
  file: string;
  doc: number;
  kind: string;
  namespace: string;
  name: string;
  allowed: boolean;
  reason: string;
  message: string;
  warnings: string[];
}

/** The object has no apiVersion/kind to judge it by. */
export class CheckInputError extends Error {
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
    this.name = "CheckInputError";
  }
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** A CREATE review for a manifest object, as the API server would send it (namespace defaulted). */
export function requestFor(m: ManifestObject, index: number, defaultNamespace = "default"): AdmissionRequest {
  const where = `${m.file} (document ${m.doc})`;
  const { apiVersion, kind } = m.object;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    throw new CheckInputError(where, "apiVersion and kind must be strings");
  const metadata = isRecord(m.object["metadata"]) ? m.object["metadata"] : {};
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : defaultNamespace;
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  const object = { ...m.object, metadata: { ...metadata, namespace } };
  return {
    uid: `check-${index}`,
    kind: { ...splitApiVersion(apiVersion), kind },
    operation: "CREATE",
    namespace,
    name,
    object,
    oldObject: null,
    dryRun: true,
  };
}

/** What `modelchain check` tells about trust configuration found among the objects it judges. */
const IGNORED_TRUST: Readonly<Record<string, string>> = {
  ModelTrustPolicy:
    "modelchain: this ModelTrustPolicy is not used for any verdict: trust comes only from --source",
};

function result(m: ManifestObject, r: AdmissionRequest, d: AdmissionDecision): CheckResult {
  const ignored = IGNORED_TRUST[r.kind.kind];
  return {
    file: m.file,
    doc: m.doc,
    kind: r.kind.kind,
    namespace: r.namespace,
    name: r.name,
    allowed: d.allowed,
    reason: d.reason,
    message: d.message,
    warnings: ignored === undefined ? d.warnings : [...d.warnings, ignored],
  };
}

/** Judges every object; objects that no rule gates (Services, ConfigMaps…) are reported as allowed. */
export function checkManifests<MV, P>(
  cache: VerifiedCache<MV, P>,
  objects: readonly ManifestObject[],
  defaultNamespace?: string,
): CheckResult[] {
  const state = cache.state();
  return objects.map((m, i) => {
    const request = requestFor(m, i, defaultNamespace);
    return result(m, request, admissionDecision(request, state));
  });
}
