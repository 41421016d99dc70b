import {
  closeSync,
  fdatasync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fencedAppend, type Fence } from "./fence.ts";

const SEGMENT_NAME = /^([0-9a-f]{16})\.seg$/;
/** Made once: promisify builds a new function each call, a cost every commit would pay. */
const fdatasyncAsync = promisify(fdatasync);
export const DEFAULT_SEGMENT_BYTES = 128 * 1024 * 1024;

interface Segment {
  start: number;
  path: string;
  fd: number;
  size: number;
}

/**
 * Append-only segment files addressed by one logical byte offset across the whole ledger.
 * Each file is named after the logical offset of its first byte; a batch is written to one
 * segment, so a record never spans two files.
 */
export class SegmentStore {
  private readonly segments: Segment[];
  private readonly dir: string;
  private readonly maxBytes: number;
  /** O_APPEND descriptor of the last segment, for writing. */
  private writer: number | undefined;
  private writerPath = "";

  private constructor(dir: string, segments: Segment[], maxBytes: number) {
    this.dir = dir;
    this.segments = segments;
    this.maxBytes = maxBytes;
  }

  static open(dir: string, options: { readOnly: boolean; maxBytes?: number }): SegmentStore {
    if (!options.readOnly) mkdirSync(dir, { recursive: true });
    const names = readdirSafe(dir)
      .filter((n) => SEGMENT_NAME.test(n))
      .sort();
    const flags = options.readOnly ? "r" : "r+";
    const segments = names.map((name) => {
      const path = join(dir, name);
      const fd = openSync(path, flags);
      return { start: parseInt(name.slice(0, 16), 16), path, fd, size: fstatSync(fd).size };
    });
    return new SegmentStore(dir, segments, options.maxBytes ?? DEFAULT_SEGMENT_BYTES);
  }

  /** Logical offset one past the last byte written. */
  get end(): number {
    const last = this.segments.at(-1);
    return last === undefined ? 0 : last.start + last.size;
  }

  readSync(offset: number, length: number): Buffer {
    const segment = this.segmentAt(offset);
    const buf = Buffer.alloc(length);
    const got = segment === undefined ? 0 : readSync(segment.fd, buf, 0, length, offset - segment.start);
    return got === length ? buf : buf.subarray(0, got);
  }

  /**
   * Writes `buf` at the end (not yet durable) and returns its logical offset. Every write,
   * and the creation of a segment file, happens only while `fence` says this writer holds the lock.
   */
  append(buf: Buffer, fence: Fence): number {
    const segment = this.writableSegment(buf.byteLength, fence);
    const offset = segment.start + segment.size;
    fencedAppend(this.writerFor(segment), segment.path, buf, segment.size, fence);
    segment.size += buf.byteLength;
    return offset;
  }

  async sync(): Promise<void> {
    if (this.writer !== undefined) await fdatasyncAsync(this.writer);
  }

  /** Drops every byte at or after `logicalEnd` (recovery of an unacknowledged tail only). */
  truncate(logicalEnd: number): void {
    for (
      let last = this.segments.at(-1);
      last !== undefined && last.start >= logicalEnd && last.start > 0;
      last = this.segments.at(-1)
    ) {
      closeSync(last.fd);
      unlinkSync(last.path);
      this.segments.pop();
    }
    const last = this.segments.at(-1);
    if (last !== undefined && last.start + last.size > logicalEnd) {
      const handle = openSync(last.path, "r+");
      try {
        // ftruncate through a fresh descriptor keeps the reader's fd valid.
        ftruncateSync(handle, logicalEnd - last.start);
        fsyncSync(handle);
      } finally {
        closeSync(handle);
      }
      last.size = logicalEnd - last.start;
    }
  }

  async close(): Promise<void> {
    if (this.writer !== undefined) closeSync(this.writer);
    this.writer = undefined;
    for (const segment of this.segments) closeSync(segment.fd);
    this.segments.length = 0;
  }

  private segmentAt(offset: number): Segment | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if ((this.segments[mid] as Segment).start <= offset) lo = mid;
      else hi = mid - 1;
    }
    const found = this.segments[lo];
    return found !== undefined && found.start <= offset ? found : undefined;
  }

  private writableSegment(bytes: number, fence: Fence): Segment {
    const last = this.segments.at(-1);
    if (last !== undefined && (last.size === 0 || last.size + bytes <= this.maxBytes)) return last;
    fence.check();
    const start = this.end;
    const path = join(this.dir, `${start.toString(16).padStart(16, "0")}.seg`);
    const fd = openSync(path, "wx+");
    syncDirectory(this.dir);
    const segment = { start, path, fd, size: 0 };
    this.segments.push(segment);
    return segment;
  }

  private writerFor(segment: Segment): number {
    if (this.writer === undefined || this.writerPath !== segment.path) {
      if (this.writer !== undefined) closeSync(this.writer);
      this.writer = openSync(segment.path, "a");
      this.writerPath = segment.path;
    }
    return this.writer;
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e: unknown) {
    if (e instanceof Error && "code" in e && e.code === "ENOENT") return [];
    throw e;
  }
}

/** Makes a new file's directory entry durable (POSIX: fsync the directory). */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
