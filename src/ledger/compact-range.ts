import { hashChildren, EMPTY_ROOT } from "./merkle.ts";
import type { Hash } from "./hash.ts";

/** A complete subtree root finished by a push: leaves [index·2^level, (index+1)·2^level). */
export interface FinishedNode {
  level: number;
  index: number;
  hash: Hash;
}

/**
 * The right border of a growing tree: one subtree root per set bit of the size. Pushing a
 * leaf finishes the subtrees it completes; the root folds the border from right to left.
 * O(log n) memory whatever the size, so a whole ledger can be re-hashed in one pass.
 */
export class CompactRange {
  private border: Array<Hash | undefined> = [];
  private count: number;

  constructor(size = 0, borderAt?: (level: number, index: number) => Hash) {
    this.count = size;
    if (size > 0 && borderAt === undefined)
      throw new RangeError("a non-empty compact range needs its border nodes");
    for (let level = 0; 2 ** level <= size; level++) {
      const nodes = Math.floor(size / 2 ** level);
      if (nodes % 2 === 1) this.border[level] = borderAt?.(level, nodes - 1);
    }
  }

  get size(): number {
    return this.count;
  }

  push(leafHash: Hash): FinishedNode[] {
    const finished: FinishedNode[] = [];
    let hash = leafHash;
    let level = 0;
    while (Math.floor(this.count / 2 ** level) % 2 === 1) {
      hash = hashChildren(this.border[level] as Hash, hash);
      this.border[level] = undefined;
      level++;
      finished.push({ level, index: Math.floor(this.count / 2 ** level), hash });
    }
    this.border[level] = hash;
    this.count++;
    return finished;
  }

  root(): Hash {
    let root: Hash | undefined;
    for (const hash of this.border) {
      if (hash !== undefined) root = root === undefined ? hash : hashChildren(hash, root);
    }
    return root ?? EMPTY_ROOT;
  }
}
