// ConfigMaps and Secrets that hold signature material: OMS bundles a ModelVersion refers to and
// the Sigstore trusted roots a trust policy names. Only those labelled TRUST_MATERIAL_LABEL are
// watched, so the webhook neither lists every Secret of the cluster nor keeps them in memory.
import type { MaterialKey } from "./cache.ts";
import { TRUST_MATERIAL_LABEL } from "../api/index.ts";
import { isRecord } from "./review.ts";

export { TRUST_MATERIAL_LABEL };

export interface MaterialObject {
  kind: MaterialKey["kind"];
  namespace: string;
  name: string;
  data: Record<string, string>;
}

function strings(value: unknown, decode: boolean): Record<string, string> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) =>
      typeof v === "string" ? [[k, decode ? Buffer.from(v, "base64").toString("utf8") : v]] : [],
    ),
  );
}

/** The keys of a ConfigMap (data, binaryData) or Secret (data decoded, stringData), or undefined. */
export function materialObject(object: unknown, defaultNamespace = "default"): MaterialObject | undefined {
  if (!isRecord(object)) return undefined;
  const kind = object["kind"];
  if (kind !== "ConfigMap" && kind !== "Secret") return undefined;
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = typeof metadata["name"] === "string" ? metadata["name"] : "";
  const namespace = typeof metadata["namespace"] === "string" ? metadata["namespace"] : defaultNamespace;
  const data =
    kind === "ConfigMap"
      ? { ...strings(object["binaryData"], true), ...strings(object["data"], false) }
      : { ...strings(object["data"], true), ...strings(object["stringData"], false) };
  return { kind, namespace, name, data };
}
