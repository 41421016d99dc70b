import type { LabelSelector } from "./types.ts";

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
