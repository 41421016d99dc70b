import { existsSync } from "node:fs";
import { join } from "node:path";
import { hashChildren, rootOf, type SubtreeSource } from "../merkle.ts";
import { CompactRange } from "../compact-range.ts";
import type { Hash } from "../hash.ts";
import { FixedSlotFile } from "./fixed-file.ts";

const HASH_BYTES = 32;
const CHUNK = 65_536;

/** Level 0 of the tree: the leaf hashes, one at a time or a run of them. */
export interface LeafHashes {
  at(index: number): Hash;
  range(first: number, count: number): Hash[];
}

/** A node that reads back as 32 zero bytes never reached the disk (no SHA-256 output is zero). */
function zeroNodeIn(stored: Buffer, i: number): boolean {
  const words = new Uint32Array(stored.buffer, stored.byteOffset + i * HASH_BYTES, HASH_BYTES / 4);
  for (const word of words) if (word !== 0) return false;
  return true;
}

/**
 * The Merkle tree on disk: level 0 is read from the entry index (the caller's `LeafHashes`),
 * level L ≥ 1 from `tree/level-LL`, one 32-byte hash per complete aligned subtree of 2^L
 * leaves. Upper levels are derived data, written after the segment fsync, so an open checks
 * them before they serve anything (`recover`): a writer rebuilds a level from its first bad
 * node; a reader, which writes nothing, stops trusting the file there and computes the nodes
 * from the level below. `border` holds the subtree roots on the right edge, so the current root
 * costs no reads.
 */
export class TreeFiles {
  private readonly dir: string;
  private readonly readOnly: boolean;
  private readonly leaves: LeafHashes;
  private readonly levels: Array<FixedSlotFile | undefined> = [undefined];
  /** Per level, the first node a reader found bad: nodes from there on are computed. */
  private readonly untrustedFrom = new Map<number, number>();
  private border = new CompactRange();

  constructor(dir: string, readOnly: boolean, leaves: LeafHashes) {
    this.dir = dir;
    this.readOnly = readOnly;
    this.leaves = leaves;
  }

  readonly source: SubtreeSource = (level, index) => {
    if (level === 0) return this.leaves.at(index);
    const file = this.levelFile(level);
    if (file !== undefined && index < this.trusted(level, file)) return Uint8Array.from(file.read(index));
    // Not (yet) on disk — a reader racing the writer, a level being rebuilt — or not trusted.
    return hashChildren(this.source(level - 1, 2 * index), this.source(level - 1, 2 * index + 1));
  };

  private trusted(level: number, file: FixedSlotFile): number {
    return Math.min(file.count, this.untrustedFrom.get(level) ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Checks the level files against `size` leaves, bottom up, and loads the right border. Every
   * stored node is checked not to be zeroed; those covering leaves from `synced` on (written
   * since the last sync) are recomputed from the level below and compared. A writer truncates a
   * level at its first bad node and rebuilds the rest, as it does a level a crash left short.
   */
  recover(size: number, synced: number, warn: (message: string) => void): void {
    const top = size === 0 ? 0 : Math.floor(Math.log2(size));
    for (let level = 1; level <= top || this.levelFile(level) !== undefined; level++) {
      const expected = Math.floor(size / 2 ** level);
      const file = this.levelFile(level) ?? (this.readOnly ? undefined : this.createLevel(level));
      if (file === undefined) continue;
      const bad = this.firstBadNode(level, file, Math.min(file.count, expected), synced);
      if (bad !== undefined)
        warn(
          `tree level ${level} node ${bad} does not match the entries (a block lost in a crash?): ${this.readOnly ? "computed from the level below instead" : "rebuilt from there"}`,
        );
      if (this.readOnly) {
        if (bad !== undefined) this.untrustedFrom.set(level, bad);
        continue;
      }
      const keep = Math.min(file.count, expected, bad ?? Number.POSITIVE_INFINITY);
      if (file.count > keep || file.tornBytes > 0) file.truncate(keep);
      this.rebuild(level, file, expected);
    }
    this.border = new CompactRange(size, this.source);
  }

  /** Nodes [first, first+count) of a level: stored where trusted, computed elsewhere. */
  private nodes(level: number, first: number, count: number): Hash[] {
    if (level === 0) return this.leaves.range(first, count);
    const file = this.levelFile(level);
    const stored = file === undefined ? 0 : Math.max(0, Math.min(count, this.trusted(level, file) - first));
    const out: Hash[] = [];
    if (file !== undefined && stored > 0) {
      const buf = file.readRange(first, stored);
      for (let i = 0; i < stored; i++)
        out.push(Uint8Array.from(buf.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
    }
    for (let i = first + stored; i < first + count; i++) out.push(this.source(level, i));
    return out;
  }

  private firstBadNode(
    level: number,
    file: FixedSlotFile,
    count: number,
    synced: number,
  ): number | undefined {
    const recomputeFrom = Math.floor(synced / 2 ** level);
    for (let first = 0; first < count; first += CHUNK) {
      const n = Math.min(CHUNK, count - first);
      const stored = file.readRange(first, n);
      const from = Math.max(first, recomputeFrom);
      const children = from < first + n ? this.nodes(level - 1, 2 * from, 2 * (first + n - from)) : [];
      for (let i = 0; i < n; i++) {
        if (zeroNodeIn(stored, i)) return first + i;
        const k = first + i - from;
        if (k < 0) continue;
        const want = hashChildren(children[2 * k] as Hash, children[2 * k + 1] as Hash);
        if (!stored.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES).equals(want)) return first + i;
      }
    }
    return undefined;
  }

  /** Appends the nodes a level is missing, from the level below. */
  private rebuild(level: number, file: FixedSlotFile, expected: number): void {
    for (let first = file.count; first < expected; first = file.count) {
      const n = Math.min(CHUNK, expected - first);
      const children = this.nodes(level - 1, 2 * first, 2 * n);
      const row: Hash[] = [];
      for (let i = 0; i < n; i++)
        row.push(hashChildren(children[2 * i] as Hash, children[2 * i + 1] as Hash));
      file.append(Buffer.concat(row));
    }
  }

  /** Adds a leaf to the border; collects the complete subtree roots it finished, by level. */
  pushLeaf(leafHash: Hash, newNodes: Map<number, Hash[]>): void {
    for (const { level, hash } of this.border.push(leafHash)) {
      const row = newNodes.get(level) ?? [];
      row.push(hash);
      newNodes.set(level, row);
    }
  }

  /** Appends the nodes `pushLeaf` produced, synchronously (not fsync'd: they can be rebuilt). */
  writeNodes(newNodes: Map<number, Hash[]>): void {
    for (const [level, hashes] of newNodes) {
      const file = this.levelFile(level) ?? this.createLevel(level);
      const only = hashes.length === 1 ? (hashes[0] as Hash) : undefined;
      file.append(
        only === undefined ? Buffer.concat(hashes) : Buffer.from(only.buffer, only.byteOffset, HASH_BYTES),
      );
    }
  }

  /** Makes every level file durable (see synced.ts). */
  async sync(): Promise<void> {
    // All at once: the thread pool runs them side by side and the file system can fold them
    // into one journal commit; the caller records nothing until every one is done.
    await Promise.all(this.levels.map((file) => file?.sync()));
  }

  currentRoot(): Hash {
    return this.border.root();
  }

  rootAt(size: number): Hash {
    return size === this.border.size ? this.currentRoot() : rootOf(this.source, size);
  }

  async close(): Promise<void> {
    for (const file of this.levels) await file?.close();
    this.levels.length = 1;
  }

  private levelPath(level: number): string {
    return join(this.dir, `level-${String(level).padStart(2, "0")}`);
  }

  private levelFile(level: number): FixedSlotFile | undefined {
    if (this.levels[level] === undefined) {
      const path = this.levelPath(level);
      this.levels[level] = this.readOnly
        ? FixedSlotFile.openIfPresent(path, HASH_BYTES)
        : existsSync(path)
          ? FixedSlotFile.open(path, HASH_BYTES, false)
          : undefined;
    }
    return this.levels[level];
  }

  private createLevel(level: number): FixedSlotFile {
    const file = FixedSlotFile.open(this.levelPath(level), HASH_BYTES, false);
    this.levels[level] = file;
    return file;
  }
}
