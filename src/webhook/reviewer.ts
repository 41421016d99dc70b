// The review pipeline: resolve cache misses (bounded, single-flight), decide, hand findings to
// the denial recorder without waiting for it.
import { admissionCacheLookups } from "../metrics/index.ts";
import type { VerifiedCache } from "./cache.ts";
import { admissionDecision, type AdmissionDecision } from "./decision.ts";
import { recordsChange } from "./changes.ts";
import { CacheLookupFailed, SingleFlight, withDeadline } from "./lookup.ts";
import type { AdmissionRequest } from "./review.ts";
import type { Reviewer } from "./server.ts";
import { subjectOf } from "./subjects.ts";

/** Where misses go: the API server (kube source). Each returns the object, or undefined if absent. */
export interface MissLookup {
  modelVersion(namespace: string, name: string): Promise<unknown>;
  namespaceLabels(name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/**
 * Receives every decision with findings to record and every admitted change to record; must
 * return at once (see denials.ts).
 */
export interface FindingSink {
  record(request: AdmissionRequest, decision: AdmissionDecision): void;
}

export interface ReviewerOptions<MV, P> {
  cache: VerifiedCache<MV, P>;
  lookup?: MissLookup;
  /** Below the ValidatingWebhookConfiguration's timeoutSeconds, so a slow lookup still answers. */
  lookupDeadlineMs?: number;
  sink?: FindingSink;
  /**
   * Why the cache cannot be trusted yet (an informer not listed), or undefined. While it says
   * why, gated reviews are denied with that reason rather than judged on a cache that may be
   * missing what the API server already holds.
   */
  notReady?: () => string | undefined;
}

/** Ancestors looked up per review at most: a lineage deeper than this is refused by lineage anyway. */
const MAX_ANCESTOR_LOOKUPS = 64;

function notReadyDenial(request: AdmissionRequest, resource: string, why: string): AdmissionDecision {
  return {
    allowed: false,
    message: `modelchain: webhook not ready, cannot decide ${request.kind.kind} ${request.namespace}/${request.name}: ${why}`,
    warnings: [],
    reason: "webhook-not-ready",
    checkFailed: undefined,
    resource,
    record: [],
  };
}

function lookupFailed(request: AdmissionRequest, resource: string, e: CacheLookupFailed): AdmissionDecision {
  const message = `modelchain: cannot decide ${request.kind.kind} ${request.namespace}/${request.name}: ${e.message}`;
  return {
    allowed: false,
    message,
    warnings: [],
    reason: "lookup-failed",
    checkFailed: undefined,
    resource,
    record: [],
  };
}

/**
 * Admitted changes worth a ledger entry: ModelVersions, ModelDeployments and labelled
 * Deployments always; ConfigMaps only where a trust policy governs the namespace (they are
 * sent to the webhook from every namespace, and most serve no model).
 */
function recorded<MV, P>(
  request: AdmissionRequest,
  state: ReturnType<VerifiedCache<MV, P>["state"]>,
): boolean {
  if (!recordsChange(request)) return false;
  if (request.kind.kind !== "ConfigMap") return true;
  const labels = state.namespaceLabels(request.namespace) ?? {
    "kubernetes.io/metadata.name": request.namespace,
  };
  return state.policies.some((p) => p.selects(labels));
}

export function createReviewer<MV, P>(options: ReviewerOptions<MV, P>): Reviewer {
  const { cache, sink } = options;
  const { lookup } = options;
  const deadline = options.lookupDeadlineMs ?? 2_000;
  const flights = new SingleFlight<void>();

  const fill = (flightKey: string, load: () => Promise<void>): Promise<void> =>
    flights.do(flightKey, () =>
      withDeadline(flightKey, load(), deadline).catch((e: unknown) => {
        throw e instanceof CacheLookupFailed ? e : new CacheLookupFailed(flightKey, "failed", { cause: e });
      }),
    );

  /** Looks up what the decision will need and the cache lacks; resolves once it is stored. */
  async function resolveMisses(request: AdmissionRequest): Promise<void> {
    const subject = subjectOf(request);
    if (subject.type === "ungated" && !recordsChange(request)) return;
    const ns = request.namespace;
    const pending: Promise<void>[] = [];
    if (ns !== "" && !cache.hasNamespace(ns) && lookup !== undefined) {
      pending.push(
        fill(`namespace ${ns}`, async () => {
          const labels = await lookup.namespaceLabels(ns);
          if (labels !== undefined) cache.putNamespace(ns, labels);
        }),
      );
    }
    if (subject.type === "workload") {
      const hit = cache.hasModelVersion(ns, subject.modelVersion);
      admissionCacheLookups.inc({ result: hit ? "hit" : "miss" });
      if (lookup !== undefined)
        pending.push(resolveLineage(lookup, { namespace: ns, name: subject.modelVersion }));
    }
    await Promise.all(pending);
  }

  const fillModelVersion = (lookup: MissLookup, ref: { namespace: string; name: string }): Promise<void> =>
    fill(`ModelVersion ${ref.namespace}/${ref.name}`, async () => {
      const found = await lookup.modelVersion(ref.namespace, ref.name);
      if (found !== undefined) cache.putModelVersion(found);
    });

  /**
   * The ModelVersion and every ancestor the cache lacks, read from the API server, generation by
   * generation: a parent created by the same `kubectl apply` just before may not have reached
   * the informer yet, and judging without it would deny what the API server already holds.
   */
  async function resolveLineage(
    lookup: MissLookup,
    start: { namespace: string; name: string },
  ): Promise<void> {
    const seen = new Set<string>();
    let generation = [start];
    while (generation.length > 0 && seen.size < MAX_ANCESTOR_LOOKUPS) {
      const fresh = generation.filter((r) => !seen.has(`${r.namespace}/${r.name}`));
      for (const r of fresh) seen.add(`${r.namespace}/${r.name}`);
      await Promise.all(
        fresh
          .filter((r) => !cache.hasModelVersion(r.namespace, r.name))
          .map((r) => fillModelVersion(lookup, r)),
      );
      generation = fresh.flatMap((r) => cache.parentsOf(r.namespace, r.name) ?? []);
    }
  }

  return async (request) => {
    const subject = subjectOf(request);
    const resource = subject.resource;
    const unready = subject.type === "ungated" ? undefined : options.notReady?.();
    if (unready !== undefined) return notReadyDenial(request, resource, unready);
    try {
      await resolveMisses(request);
    } catch (e: unknown) {
      if (e instanceof CacheLookupFailed) return lookupFailed(request, resource, e);
      throw e;
    }
    const state = cache.state();
    const decision = admissionDecision(request, state);
    if (decision.record.length > 0 || (decision.allowed && recorded(request, state)))
      sink?.record(request, decision);
    return decision;
  };
}
