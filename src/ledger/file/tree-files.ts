import { existsSync } from "node:fs";
import { join } from "node:path";
import { hashChildren, rootOf, type SubtreeSource } from "../merkle.ts";
import { CompactRange } from "../compact-range.ts";
import type { Hash } from "../hash.ts";
import { FixedSlotFile } from "./fixed-file.ts";

const HASH_BYTES = 32;

/**
 * The Merkle tree on disk: level 0 is read from the entry index (the caller's `leafHashAt`),
 * level L ≥ 1 from `tree/level-LL`, one 32-byte hash per complete aligned subtree of 2^L
 * leaves. Upper levels are derived data: written after the segment fsync, rebuilt from the
 * level below on open when a crash left them short. `border` holds the subtree roots on the right
 * edge, so the current root costs no reads.
 */
export class TreeFiles {
  private readonly dir: string;
  private readonly readOnly: boolean;
  private readonly leafHashAt: (index: number) => Hash;
  private readonly levels: Array<FixedSlotFile | undefined> = [undefined];
  private border = new CompactRange();

  constructor(dir: string, readOnly: boolean, leafHashAt: (index: number) => Hash) {
    this.dir = dir;
    this.readOnly = readOnly;
    this.leafHashAt = leafHashAt;
  }

  readonly source: SubtreeSource = (level, index) => {
    if (level === 0) return this.leafHashAt(index);
    const file = this.levelFile(level);
    if (file !== undefined && index < file.count) return Uint8Array.from(file.read(index));
    // Not (yet) on disk: a reader racing the writer, or a level being rebuilt.
    return hashChildren(this.source(level - 1, 2 * index), this.source(level - 1, 2 * index + 1));
  };

  /** Brings the level files in line with `size` leaves and loads the right border. */
  recover(size: number): void {
    if (!this.readOnly) this.repairLevels(size);
    this.border = new CompactRange(size, this.source);
  }

  private repairLevels(size: number): void {
    for (let level = 1; ; level++) {
      const expected = Math.floor(size / 2 ** level);
      const file = this.levelFile(level) ?? (expected > 0 ? this.createLevel(level) : undefined);
      if (file === undefined) return;
      if (file.count > expected || file.tornBytes > 0) file.truncate(Math.min(file.count, expected));
      const missing: Buffer[] = [];
      for (let i = file.count; i < expected; i++) missing.push(Buffer.from(this.source(level, i)));
      if (missing.length > 0) file.appendSync(Buffer.concat(missing));
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

  /** Appends the nodes `pushLeaf` produced (not fsync'd: they can be rebuilt). */
  async writeNodes(newNodes: Map<number, Hash[]>): Promise<void> {
    for (const [level, hashes] of newNodes) {
      const file = this.levelFile(level) ?? this.createLevel(level);
      await file.append(Buffer.concat(hashes));
    }
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
