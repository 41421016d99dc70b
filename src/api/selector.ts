import type { LabelSelector } from "./types.ts";
import type { FieldError } from "./validate.ts";

/**
 * metav1.LabelSelector validity: In and NotIn need values, Exists and DoesNotExist take none.
 * The API server refuses such a selector on built-in kinds; read leniently, `In: []` would
 * select no namespace and leave the policy silently enforcing nothing.
 */
export function selectorProblems(selector: LabelSelector | undefined, path: string): FieldError[] {
  return (selector?.matchExpressions ?? []).flatMap((req, i) => {
    const values = req.values ?? [];
    const needsValues = req.operator === "In" || req.operator === "NotIn";
    if (needsValues === values.length > 0) return [];
    const message = needsValues
      ? `must be non-empty for operator ${req.operator}`
      : `must be empty for operator ${req.operator}`;
    return [{ field: `${path}.matchExpressions[${i}].values`, message }];
  });
}

/** metav1.LabelSelector semantics: every matchLabels pair and every expression must hold; empty selects all. */
export function namespaceMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  const pairs = Object.entries(selector.matchLabels ?? {});
  if (!pairs.every(([k, v]) => labels[k] === v)) return false;
  return (selector.matchExpressions ?? []).every((req) => {
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
        return value !== undefined && values.includes(value);
      case "NotIn":
        return value === undefined || !values.includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
    }
  });
}
