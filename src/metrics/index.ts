// One prom-client registry for the whole process: `modelchain_` prefix, base units, bounded
// label sets — never a label per object name, since Prometheus keeps one series per label
// value and a label per object grows without bound. Components import the metric they update
// from here; the metrics server (server.ts) serves `registry`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const registry = new Registry();

let defaultsCollected = false;
/** Process metrics (CPU, memory, event loop); called once by the processes that serve /metrics. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  collectDefaultMetrics({ register: registry, prefix: "modelchain_" });
  defaultsCollected = true;
}

// Ledger
export const ledgerEntriesAppended = new Counter({
  name: "modelchain_ledger_entries_appended_total",
  help: "Entries appended to the ledger, by entry kind (duplicates excluded).",
  labelNames: ["kind", "backend"] as const,
  registers: [registry],
});
export const ledgerAppendDuration = new Histogram({
  name: "modelchain_ledger_append_duration_seconds",
  help: "Time from an append call to its durable acknowledgement.",
  labelNames: ["backend"] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
export const ledgerSize = new Gauge({
  name: "modelchain_ledger_entries",
  help: "Number of entries in the ledger (tree size).",
  labelNames: ["backend"] as const,
  registers: [registry],
});
export const ledgerErrors = new Counter({
  name: "modelchain_ledger_errors_total",
  help: "Ledger operations that failed, by error class.",
  labelNames: ["backend", "error"] as const,
  registers: [registry],
});
export const outboxDepth = new Gauge({
  name: "modelchain_ledger_outbox_entries",
  help: "Entries waiting in the durable outbox for the ledger.",
  registers: [registry],
});
export const certifiedTipAge = new Gauge({
  name: "modelchain_ledger_certified_tip_age_seconds",
  help: "Age of the last certified ledger tip verified (ic backend).",
  registers: [registry],
});

// Admission
export const admissionReviews = new Counter({
  name: "modelchain_admission_reviews_total",
  help: "AdmissionReviews answered, by decision and reason (a fixed set of check names).",
  labelNames: ["decision", "reason", "resource"] as const,
  registers: [registry],
});
export const admissionRefusals = new Counter({
  name: "modelchain_admission_refusals_total",
  help: "Requests to the webhook answered without a review (HTTP 400/413/429/500) or closed (tls: a failed or timed-out handshake), by status.",
  labelNames: ["status"] as const,
  registers: [registry],
});
export const admissionDuration = new Histogram({
  name: "modelchain_admission_duration_seconds",
  help: "Time to answer an AdmissionReview, from request end to response.",
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});
export const admissionCacheLookups = new Counter({
  name: "modelchain_admission_cache_lookups_total",
  help: "Lookups in the webhook's verified cache, by result (hit or miss).",
  labelNames: ["result"] as const,
  registers: [registry],
});

// Deployments and reconciliation
export const verifiedDeployments = new Gauge({
  name: "modelchain_deployments",
  help: "Model deployments by namespace and verification state (verified or unverified).",
  labelNames: ["namespace", "state"] as const,
  registers: [registry],
});
export const driftedDeployments = new Gauge({
  name: "modelchain_deployments_drifted",
  help: "Model deployments whose running image digest differs from the admitted one.",
  labelNames: ["namespace"] as const,
  registers: [registry],
});
export const revokedModelsInUse = new Gauge({
  name: "modelchain_revoked_models_in_use",
  help: "Deployments still serving a revoked model version (or one with a revoked ancestor).",
  labelNames: ["namespace"] as const,
  registers: [registry],
});
export const reconcileDuration = new Histogram({
  name: "modelchain_reconcile_duration_seconds",
  help: "Time spent in one reconcile, by controller.",
  labelNames: ["controller"] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  registers: [registry],
});
export const reconciles = new Counter({
  name: "modelchain_reconciles_total",
  help: "Reconciles by controller and result (success, requeue, retry after an error, terminal error).",
  labelNames: ["controller", "result"] as const,
  registers: [registry],
});
export const reconcileErrors = new Counter({
  name: "modelchain_reconcile_errors_total",
  help: "Reconciles that failed, by controller and error class.",
  labelNames: ["controller", "error"] as const,
  registers: [registry],
});
export const workQueueDepth = new Gauge({
  name: "modelchain_workqueue_depth",
  help: "Keys waiting in a controller's work queue.",
  labelNames: ["controller"] as const,
  registers: [registry],
});
export { startMetricsServer, type MetricsServer } from "./server.ts";

// Artifacts
export const artifactVerifications = new Counter({
  name: "modelchain_artifact_verifications_total",
  help: "Artifact checks recorded from serving Pods, by outcome (verified or failed); once per rollout and digest, or per Pod for a failure.",
  labelNames: ["outcome"] as const,
  registers: [registry],
});
