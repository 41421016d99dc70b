// What the reconcilers know about ModelVersions and trust policies: informer caches read
// through small pure helpers, so the lineage verdict is computed the same way everywhere.
import type { KubernetesObject, ObjectCache } from "@kubernetes/client-node";
import {
  namespaceMatches,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelTrustPolicy,
  type ModelVersion,
} from "../api/index.ts";
import { lineagePolicy, verifyLineage, type LineageVerdict } from "../lineage/index.ts";
import type { Ledger } from "../ledger/index.ts";
import type { RecordedRevocation, TrailIndex } from "../trail/index.ts";

export interface LineageContext {
  modelVersions: ObjectCache<KubernetesObject>;
  policies: ObjectCache<KubernetesObject>;
  namespaces: ObjectCache<KubernetesObject>;
  ledger: Ledger;
  /** Registrations and revocations, followed from `ledger` before each verdict. */
  trail: TrailIndex;
}

export interface PolicyVerdict {
  policy: string;
  mode: "enforce" | "warn" | "audit";
  /** The policy asks for deployments of revoked models to be scaled to zero. */
  scaleToZero: boolean;
  verdict: LineageVerdict;
}

function modelVersionAt(ctx: LineageContext, namespace: string, name: string): ModelVersion | undefined {
  const object = ctx.modelVersions.get(name, namespace);
  const checked = object === undefined ? undefined : validateModelVersion(object);
  return checked?.ok ? checked.value : undefined;
}

export function namespaceLabels(ctx: LineageContext, namespace: string): Record<string, string> {
  return {
    "kubernetes.io/metadata.name": namespace,
    ...(ctx.namespaces.get(namespace)?.metadata?.labels ?? {}),
  };
}

/** Trust policies whose namespace selector matches, by name. */
export function governingPolicies(ctx: LineageContext, namespace: string): ModelTrustPolicy[] {
  const labels = namespaceLabels(ctx, namespace);
  return ctx.policies
    .list()
    .map((o) => validateModelTrustPolicy(o))
    .flatMap((r) => (r.ok ? [r.value] : []))
    .filter((p) => namespaceMatches(p.spec.namespaceSelector, labels))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** The spec digest of a ModelVersion's registration, as the trail defines it (first of its uid). */
function recordedDigest(ctx: LineageContext, namespace: string, name: string): string | undefined {
  const mv = modelVersionAt(ctx, namespace, name);
  return mv === undefined
    ? undefined
    : ctx.trail.registrations.of(namespace, name, mv.metadata.uid)?.specDigest;
}

/** The revocation the ledger holds for a ModelVersion (its own, or its artifact digest's). */
export function recordedRevocation(ctx: LineageContext, mv: ModelVersion): RecordedRevocation | undefined {
  return ctx.trail.revocations.revocationOf(
    mv.metadata.namespace ?? "default",
    mv.metadata.name,
    mv.metadata.uid,
    mv.spec.artifact.digest,
  );
}

/** The lineage verdict under every governing policy (empty when none selects the namespace). */
export async function verdicts(ctx: LineageContext, mv: ModelVersion): Promise<PolicyVerdict[]> {
  await ctx.trail.follow(ctx.ledger);
  const policies = governingPolicies(ctx, mv.metadata.namespace ?? "default");
  if (policies.length === 0) return [];
  const recorded = (ns: string, name: string): string | undefined => recordedDigest(ctx, ns, name);
  const resolve = (ns: string, name: string) => modelVersionAt(ctx, ns, name);
  return policies.map((p) => ({
    policy: p.metadata.name,
    mode: p.spec.mode ?? "enforce",
    scaleToZero: p.spec.revocation?.scaleToZero ?? false,
    verdict: verifyLineage(mv, resolve, lineagePolicy(p.spec), recorded, (m) => recordedRevocation(ctx, m)),
  }));
}

export function verifiedUnderAll(results: readonly PolicyVerdict[]): boolean {
  return results.length > 0 && results.every((r) => r.verdict.verified);
}

export function failureSummary(results: readonly PolicyVerdict[]): string {
  if (results.length === 0) return "no ModelTrustPolicy selects this namespace";
  return results
    .filter((r) => !r.verdict.verified)
    .map((r) => `${r.policy}: ${r.verdict.failed.join("; ")}`)
    .join(" | ");
}
