// The signature material a lineage verdict may need — OMS bundles in ConfigMaps/Secrets that
// ModelVersions refer to, Sigstore trusted roots that trust policies name — read from the API
// server before the verdict (which is pure and synchronous), so the operator judges as the
// webhook does. Only objects labelled modelchain.io/trust-material count, as in the webhook.
import { ApiException, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { TRUST_MATERIAL_LABEL, type ModelTrustPolicy, type ModelVersion } from "../api/index.ts";
import type { Material } from "../lineage/index.ts";

type Kind = "ConfigMap" | "Secret";
/** A ConfigMap's or Secret's data (Secret values decoded), or undefined when absent or unlabelled. */
export type MaterialReader = (
  kind: Kind,
  namespace: string,
  name: string,
) => Promise<Readonly<Record<string, string>> | undefined>;

const id = (kind: Kind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

function refsOf(
  mv: ModelVersion,
  resolve: (ns: string, name: string) => ModelVersion | undefined,
  out: Map<string, [Kind, string, string]>,
  seen: Set<string>,
): void {
  const namespace = mv.metadata.namespace ?? "default";
  if (seen.has(`${namespace}/${mv.metadata.name}`)) return;
  seen.add(`${namespace}/${mv.metadata.name}`);
  for (const s of mv.spec.signatures ?? []) {
    if (s.configMapKeyRef !== undefined)
      out.set(id("ConfigMap", namespace, s.configMapKeyRef.name), [
        "ConfigMap",
        namespace,
        s.configMapKeyRef.name,
      ]);
    if (s.secretKeyRef !== undefined)
      out.set(id("Secret", namespace, s.secretKeyRef.name), ["Secret", namespace, s.secretKeyRef.name]);
  }
  for (const p of mv.spec.parents ?? []) {
    const parent = resolve(p.namespace ?? namespace, p.name);
    if (parent !== undefined) refsOf(parent, resolve, out, seen);
  }
}

/** Reads everything the verdicts of `mv` (and its ancestors) under `policies` may look up. */
export async function prefetchMaterial(
  read: MaterialReader | undefined,
  mv: ModelVersion,
  policies: readonly ModelTrustPolicy[],
  resolve: (ns: string, name: string) => ModelVersion | undefined,
): Promise<Material> {
  if (read === undefined) return () => undefined;
  const wanted = new Map<string, [Kind, string, string]>();
  refsOf(mv, resolve, wanted, new Set());
  for (const p of policies)
    for (const r of p.spec.trustRoots ?? []) {
      const ref = r.keyless?.trustedRoot.configMapKeyRef;
      if (ref !== undefined)
        wanted.set(id("ConfigMap", ref.namespace, ref.name), ["ConfigMap", ref.namespace, ref.name]);
    }
  const found = new Map<string, Readonly<Record<string, string>>>();
  await Promise.all(
    [...wanted].map(async ([key, [kind, namespace, name]]) => {
      const data = await read(kind, namespace, name);
      if (data !== undefined) found.set(key, data);
    }),
  );
  return (ref) => found.get(id(ref.kind, ref.namespace, ref.name))?.[ref.key];
}

const decoded = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );

/** Reads ConfigMaps and Secrets with GETs; a missing object is undefined, other errors throw (retry). */
export function kubeMaterialReader(kc: KubeConfig): MaterialReader {
  const core = kc.makeApiClient(CoreV1Api);
  return async (kind, namespace, name) => {
    try {
      if (kind === "ConfigMap") {
        const cm = await core.readNamespacedConfigMap({ namespace, name });
        if (cm.metadata?.labels?.[TRUST_MATERIAL_LABEL] === undefined) return undefined;
        return { ...decoded(cm.binaryData), ...(cm.data ?? {}) };
      }
      const secret = await core.readNamespacedSecret({ namespace, name });
      if (secret.metadata?.labels?.[TRUST_MATERIAL_LABEL] === undefined) return undefined;
      return decoded(secret.data);
    } catch (e: unknown) {
      if (e instanceof ApiException && e.code === 404) return undefined;
      throw e;
    }
  };
}
