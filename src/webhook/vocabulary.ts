// PLACEHOLDER until src/api and src/lineage land: reads names only and fails every lineage
// check (fail closed), so nothing is ever admitted on its word. Replaced by the real adapter.
import type { ModelVocabulary } from "./cache.ts";

interface Named {
  namespace: string;
  name: string;
}

export const modelchainVocabulary: ModelVocabulary<Named, null> = {
  modelVersion: (o) => {
    const meta = typeof o === "object" && o !== null && "metadata" in o ? o.metadata : undefined;
    if (typeof meta !== "object" || meta === null || !("name" in meta) || typeof meta.name !== "string") return { ok: false, problem: "metadata.name is required" };
    const namespace = "namespace" in meta && typeof meta.namespace === "string" ? meta.namespace : "default";
    return { ok: true, object: { namespace, name: meta.name }, view: { namespace, name: meta.name, revoked: false, revokedReason: "", specDigest: "" } };
  },
  policy: () => ({ ok: true, view: { name: "placeholder", policy: null, mode: "enforce", requiredChecks: [], selects: () => true } }),
  verify: () => ({ verified: false, checks: [{ name: "signature", passed: false, reason: "lineage verification is not available in this build" }] }),
};
