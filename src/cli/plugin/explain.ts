// `kubectl modelchain explain-denial KIND/NAME | -f FILE`: judges the object as the webhook would
// now, against the live cluster's trust policies, namespaces and ModelVersions, and says for
// each failed check what failed and how to fix it; with a ledger, also the last denial recorded
// for that object (a denied create leaves nothing in the cluster, but the webhook records it).
import type { KubeConfig } from "@kubernetes/client-node";
import { openLedger, type LedgerEntry } from "../../ledger/index.ts";
import { admissionDecision } from "../../webhook/decision.ts";
import { requestFor } from "../../webhook/check.ts";
import { isRecord } from "../../webhook/review.ts";
import { loadModelVersions, type ManifestObject } from "../../webhook/source-dir.ts";
import { clusterState } from "./cluster-state.ts";
import { fixFor } from "./fixes.ts";

export interface FailedCheck {
  check: string;
  reason: string;
  policy: string;
  mode: string;
  message: string;
  fix: string;
}

export interface RecordedDenial {
  index: number;
  observedAt: string;
  operation: string;
  actor: string | undefined;
  checks: FailedCheck[];
}

export interface Explanation {
  kind: string;
  namespace: string;
  name: string;
  /** Undefined when there is no object to judge (not in the cluster, no -f). */
  admittedNow: boolean | undefined;
  reason: string | undefined;
  checks: FailedCheck[];
  warnings: string[];
  lastRecordedDenial: RecordedDenial | undefined;
}

export interface Target {
  kind: string;
  namespace: string;
  name: string;
}

function findingsOf(decision: ReturnType<typeof admissionDecision>): FailedCheck[] {
  if (decision.allowed || decision.record.length > 0)
    return decision.record.map((f) => ({
      check: f.check,
      reason: f.reason,
      policy: f.policy,
      mode: f.mode,
      message: f.message,
      fix: fixFor(f.check, f.reason),
    }));
  // Denials without findings (lookups, readiness) carry their reason only.
  const check = decision.checkFailed ?? decision.reason;
  return [
    {
      check,
      reason: decision.reason,
      policy: "",
      mode: "enforce",
      message: decision.message,
      fix: fixFor(decision.checkFailed, decision.reason),
    },
  ];
}

function stringField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  return typeof v === "string" ? v : "";
}

function actorOf(data: Record<string, unknown>): string | undefined {
  const actor = data["actor"];
  return isRecord(actor) && typeof actor["username"] === "string" ? actor["username"] : undefined;
}

/** The newest review denied for the target, with every finding recorded for it (scanned from the end). */
async function lastRecordedDenial(ledgerUrl: string, t: Target): Promise<RecordedDenial | undefined> {
  const ledger = await openLedger(ledgerUrl, { readOnly: true });
  try {
    let found: { review: string; denial: RecordedDenial } | undefined;
    for (let i = (await ledger.size()) - 1; i >= 0; i--) {
      const entry: LedgerEntry = (await ledger.get(i)).envelope.entry;
      const { subject, data } = entry;
      if (entry.kind !== "AdmissionDenied" || subject.kind !== t.kind) continue;
      if (subject.name !== t.name || (subject.namespace ?? "") !== t.namespace) continue;
      const review = stringField(data, "reviewUid");
      if (found !== undefined && review !== found.review) break;
      const check = stringField(data, "check");
      const reason = stringField(data, "reason");
      const finding = {
        check,
        reason,
        policy: stringField(data, "policy"),
        mode: stringField(data, "mode"),
        message: stringField(data, "message"),
        fix: fixFor(check, reason),
      };
      found ??= {
        review,
        denial: {
          index: i,
          observedAt: entry.observedAt,
          operation: stringField(data, "operation"),
          actor: actorOf(data),
          checks: [],
        },
      };
      found.denial.checks.unshift(finding);
    }
    return found?.denial;
  } finally {
    await ledger.close();
  }
}

/**
 * Judges each object (or, with none, only reports the recorded denial of `target`). ModelVersions
 * among the objects are known to the ones after them, as with `kubectl apply` of one file.
 */
export async function explain(
  kc: KubeConfig,
  objects: readonly ManifestObject[],
  target: Target | undefined,
  namespace: string,
  ledgerUrl: string | undefined,
): Promise<Explanation[]> {
  const state = await clusterState(kc, ledgerUrl);
  try {
    loadModelVersions(state.cache, objects);
    const view = state.cache.state();
    const judged = objects.map((m, i) => {
      const request = { ...requestFor(m, i, namespace), dryRun: false };
      const decision = admissionDecision(request, view);
      return {
        target: { kind: request.kind.kind, namespace: request.namespace, name: request.name },
        decision,
      };
    });
    const targets =
      judged.length > 0 ? judged : target === undefined ? [] : [{ target, decision: undefined }];
    return await Promise.all(
      targets.map(async ({ target: t, decision }) => ({
        ...t,
        admittedNow: decision?.allowed,
        reason: decision?.reason,
        checks: decision === undefined || decision.allowed ? [] : findingsOf(decision),
        warnings: decision?.warnings ?? [],
        lastRecordedDenial: ledgerUrl === undefined ? undefined : await lastRecordedDenial(ledgerUrl, t),
      })),
    );
  } finally {
    await state.close();
  }
}

function checkLines(checks: readonly FailedCheck[], indent: string): string[] {
  return checks.flatMap((c) => [
    `${indent}✗ ${c.check}${c.policy === "" ? "" : ` (ModelTrustPolicy ${c.policy}, mode ${c.mode})`}: ${c.message}`,
    `${indent}  fix: ${c.fix}`,
  ]);
}

/** The explanation as lines a person reads. */
export function explanationText(e: Explanation): string {
  const who = `${e.kind} ${e.namespace}/${e.name}`;
  const now =
    e.admittedNow === undefined
      ? [`${who}: not in the cluster (a denied create leaves nothing behind)`]
      : e.admittedNow
        ? [`${who}: would be admitted now (${e.reason ?? ""})`, ...e.warnings.map((w) => `  warning: ${w}`)]
        : [`${who}: would be denied now (${e.reason ?? ""})`, ...checkLines(e.checks, "  ")];
  const d = e.lastRecordedDenial;
  const recorded =
    d === undefined
      ? []
      : [
          `last denial recorded: ledger entry ${d.index}, ${d.observedAt}, ${d.operation}${d.actor === undefined ? "" : ` by ${d.actor}`}`,
          ...checkLines(d.checks, "  "),
        ];
  return [...now, ...recorded].join("\n");
}
