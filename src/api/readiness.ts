// The summary conditions every modelchain kind carries besides its own (pure):
//   Ready        True when every condition the kind lists holds: `kubectl wait --for=condition=Ready`,
//                Flux-style health checks and Argo CD health scripts read this one;
//   Reconciling  present (True) only while the operator is still getting there, and
//   Stalled      present (True) only while it cannot get there without a change elsewhere:
//                kstatus' abnormal-true pair (sigs.k8s.io/cli-utils kstatus: InProgress, Failed).
// Each is derived from the object's other conditions, so reconciling twice writes the same list.
import { setCondition } from "./conditions.ts";
import type { Condition } from "./types.ts";

export type ConditionUpdate = Omit<Condition, "lastTransitionTime">;

/** How a condition stands between an object and Ready. */
export type Standing = "holds" | "Reconciling" | "Stalled" | "NotReady";

export interface Gate {
  type: string;
  /** `undefined` when the object has no such condition yet. */
  judge(condition: Condition | undefined): Standing;
}

export const READY = "Ready";
export const RECONCILING = "Reconciling";
export const STALLED = "Stalled";
const SUMMARY = new Set([READY, RECONCILING, STALLED]);

/** A gate passed by `want`; any other status stands as `otherwise`, an absent condition as Reconciling. */
export function wants(type: string, want: "True" | "False", otherwise: Standing = "Stalled"): Gate {
  return {
    type,
    judge: (c) => (c === undefined ? "Reconciling" : c.status === want ? "holds" : otherwise),
  };
}

interface Blocker {
  condition: Condition | undefined;
  type: string;
  standing: Exclude<Standing, "holds">;
}

function firstBlocker(conditions: readonly Condition[], gates: readonly Gate[]): Blocker | undefined {
  for (const gate of gates) {
    const condition = conditions.find((c) => c.type === gate.type);
    const standing = gate.judge(condition);
    if (standing !== "holds") return { condition, type: gate.type, standing };
  }
  return undefined;
}

function blockerUpdate(type: string, blocker: Blocker, status: "True" | "False"): ConditionUpdate {
  const c = blocker.condition;
  return {
    type,
    status,
    reason: c?.reason ?? `${blocker.type}Pending`,
    message:
      c === undefined ? `no ${blocker.type} condition yet` : `${blocker.type}: ${c.message || c.reason}`,
  };
}

/** The Ready (and Reconciling or Stalled) conditions the gates give for `conditions`. */
export function summaryConditions(
  conditions: readonly Condition[],
  gates: readonly Gate[],
  readyReason: string,
): ConditionUpdate[] {
  const blocker = firstBlocker(conditions, gates);
  if (blocker === undefined) {
    const messages = gates
      .map((g) => conditions.find((c) => c.type === g.type)?.message ?? "")
      .filter((m) => m !== "");
    return [{ type: READY, status: "True", reason: readyReason, message: messages.join("; ") }];
  }
  const ready = blockerUpdate(READY, blocker, "False");
  if (blocker.standing === "NotReady") return [ready];
  return [ready, blockerUpdate(blocker.standing, blocker, "True")];
}

/**
 * `conditions` with the summary set and the abnormal-true conditions that do not apply removed,
 * each stamped with `generation` when known.
 */
export function withSummary(
  conditions: readonly Condition[],
  gates: readonly Gate[],
  readyReason: string,
  now: Date,
  generation: number | undefined,
): Condition[] {
  const summary = summaryConditions(conditions, gates, readyReason);
  const present = new Set(summary.map((c) => c.type));
  const kept = conditions.filter((c) => !SUMMARY.has(c.type) || present.has(c.type));
  return summary.reduce<Condition[]>(
    (list, c) =>
      setCondition(
        list,
        { ...c, ...(generation === undefined ? {} : { observedGeneration: generation }) },
        now,
      ),
    kept,
  );
}
