// How many nodes a document's aliases add when expanded. An alias stands for a copy of the node
// its anchor names, copies included, so nine anchors of nine aliases each expand to 9^9 nodes
// from a few hundred bytes ("billion laughs"). Sizes are memoised per anchored node, so the
// count costs one walk of the document as written, however large the expansion.
import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document } from "yaml";

export interface AliasExpansion {
  /** The alias at which the expansion passed the limit. */
  alias: Alias;
  /** Nodes the aliases up to and including it add. */
  added: number;
}

/** The first alias at which the nodes added by expansion pass `limit`, or undefined if they never do. */
export function aliasExpansionOver(doc: Document.Parsed, limit: number): AliasExpansion | undefined {
  const anchors = new Map<string, unknown>();
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let added = 0;
  let over: AliasExpansion | undefined;
  const size = (node: unknown): number => {
    if (over !== undefined || node === null || node === undefined) return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      // An alias inside the node it names (a recursive structure) is counted once.
      const n = target === undefined || open.has(target) ? 1 : (sizes.get(target) ?? 1);
      added += n;
      if (added > limit && over === undefined) over = { alias: node, added };
      return n;
    }
    if (isPair(node)) return size(node.key) + size(node.value);
    const anchor = isScalar(node) || isMap(node) || isSeq(node) ? node.anchor : undefined;
    if (anchor !== undefined) anchors.set(anchor, node);
    open.add(node);
    let n = 1;
    if (isMap(node) || isSeq(node)) for (const item of node.items) n += size(item);
    open.delete(node);
    if (anchor !== undefined) sizes.set(node, n);
    return n;
  };
  size(doc.contents);
  return over;
}
