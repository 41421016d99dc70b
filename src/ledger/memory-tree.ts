import { hashChildren, rootOf, type SubtreeSource } from "./merkle.ts";
import type { Hash } from "./hash.ts";

/**
 * A Merkle tree held in memory as complete aligned subtrees, level by level. Used where the
 * leaves are few (tests, offline checks); the file backend keeps the same levels on disk.
 */
export class MemoryTree {
  private readonly levels: Hash[][] = [[]];

  get size(): number {
    return this.levels[0]?.length ?? 0;
  }

  appendLeafHash(leafHash: Hash): void {
    let level = 0;
    let hash = leafHash;
    for (;;) {
      const row = this.rowAt(level);
      row.push(hash);
      if (row.length % 2 === 1) return;
      hash = hashChildren(row[row.length - 2] as Hash, hash);
      level++;
    }
  }

  readonly source: SubtreeSource = (level, index) => {
    const hash = this.levels[level]?.[index];
    if (hash === undefined) throw new RangeError(`no complete subtree at level ${level} index ${index}`);
    return hash;
  };

  root(size = this.size): Hash {
    return rootOf(this.source, size);
  }

  private rowAt(level: number): Hash[] {
    let row = this.levels[level];
    if (row === undefined) {
      row = [];
      this.levels[level] = row;
    }
    return row;
  }
}
