import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";

/**
 * A file of fixed-size slots, appended at the end: the entry index (64-byte slots) and the
 * tree's level files (32-byte node hashes). Reads are synchronous preads, so a Merkle proof
 * is a few dozen page-cache reads. Appends are synchronous pwrites too: a commit writes a few
 * dozen bytes per level into the page cache after its segment fsync, which costs less than the
 * thread-pool round trip an asynchronous write would wait for. Durability comes from `sync`.
 */
export class FixedSlotFile {
  readonly path: string;
  readonly slotBytes: number;
  private readonly fd: number;
  /** A positional (not O_APPEND) descriptor for appends, so a torn tail is written over. */
  private writer: number | undefined;
  private slots: number;
  /** Bytes past the last whole slot, left by a torn write. */
  readonly tornBytes: number;

  private constructor(path: string, slotBytes: number, fd: number) {
    this.path = path;
    this.slotBytes = slotBytes;
    this.fd = fd;
    const size = fstatSync(fd).size;
    this.slots = Math.floor(size / slotBytes);
    this.tornBytes = size % slotBytes;
  }

  static open(path: string, slotBytes: number, readOnly: boolean): FixedSlotFile {
    return new FixedSlotFile(path, slotBytes, openSync(path, readOnly ? "r" : "a+"));
  }

  /** Opens read-only when the file may be missing (an empty ledger). */
  static openIfPresent(path: string, slotBytes: number): FixedSlotFile | undefined {
    try {
      return FixedSlotFile.open(path, slotBytes, true);
    } catch (e: unknown) {
      if (e instanceof Error && "code" in e && e.code === "ENOENT") return undefined;
      throw e;
    }
  }

  get count(): number {
    return this.slots;
  }

  read(slot: number): Buffer {
    return this.readRange(slot, 1);
  }

  readRange(first: number, count: number): Buffer {
    const buf = Buffer.alloc(count * this.slotBytes);
    const got = readSync(this.fd, buf, 0, buf.byteLength, first * this.slotBytes);
    if (got !== buf.byteLength) {
      throw new RangeError(
        `${this.path}: slots ${first}..${first + count - 1} beyond end (${this.slots} slots)`,
      );
    }
    return buf;
  }

  /** Writes whole slots after the last whole slot (not yet durable). */
  append(buf: Buffer): void {
    this.writer ??= openSync(this.path, "r+");
    const end = this.slots * this.slotBytes;
    for (let written = 0; written < buf.byteLength;)
      written += writeSync(this.writer, buf, written, buf.byteLength - written, end + written);
    this.slots += buf.byteLength / this.slotBytes;
  }

  /** Makes every slot written so far durable, through either descriptor. */
  async sync(): Promise<void> {
    await new Promise<void>((resolve, reject) => fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
  }

  truncate(count: number): void {
    ftruncateSync(this.fd, count * this.slotBytes);
    this.slots = count;
  }

  async close(): Promise<void> {
    if (this.writer !== undefined) closeSync(this.writer);
    this.writer = undefined;
    closeSync(this.fd);
  }
}
