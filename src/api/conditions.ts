import type { Condition } from "./types.ts";

/**
 * Returns conditions with `next` set, keeping lastTransitionTime when the status did not
 * change (the metav1.Condition convention), so reconciling twice writes the same status.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, "lastTransitionTime">,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const at = list.findIndex((c) => c.type === next.type);
  const previous = at === -1 ? undefined : list[at];
  const lastTransitionTime =
    previous !== undefined && previous.status === next.status
      ? previous.lastTransitionTime
      : now.toISOString();
  const condition: Condition = { ...next, lastTransitionTime };
  if (at === -1) list.push(condition);
  else list[at] = condition;
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
