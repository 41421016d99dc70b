import type { KubeObject } from "./store.ts";

/** label selectors: a=b, a!=b, a in (x,y), a notin (x), a, !a — comma-separated, all must hold. */
function matchesLabels(labels: Record<string, string>, selector: string): boolean {
  const terms = selector.match(/([^,(]+(\([^)]*\))?)/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    if (term === "") return true;
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = (set[3] ?? "").split(",").map((v) => v.trim());
      const has = labels[set[1] ?? ""] !== undefined && values.includes(labels[set[1] ?? ""] ?? "");
      return set[2] === "in" ? has : !has;
    }
    const neq = /^([^!=]+)!=(.*)$/.exec(term);
    if (neq) return labels[(neq[1] ?? "").trim()] !== (neq[2] ?? "").trim();
    const eq = /^([^=]+)==?(.*)$/.exec(term);
    if (eq) return labels[(eq[1] ?? "").trim()] === (eq[2] ?? "").trim();
    if (term.startsWith("!")) return labels[term.slice(1)] === undefined;
    return labels[term] !== undefined;
  });
}

function matchesFields(object: KubeObject, selector: string): boolean {
  return selector.split(",").every((term) => {
    const [path, value] = term.split("=");
    if (path === "metadata.name") return object.metadata.name === value;
    if (path === "metadata.namespace") return object.metadata.namespace === value;
    return true;
  });
}

export function matchesSelectors(
  object: KubeObject,
  labelSelector: string | null,
  fieldSelector: string | null,
): boolean {
  return (
    (!labelSelector || matchesLabels(object.metadata.labels ?? {}, labelSelector)) &&
    (!fieldSelector || matchesFields(object, fieldSelector))
  );
}
