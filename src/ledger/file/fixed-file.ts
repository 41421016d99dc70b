import { closeSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/**
 * A file of fixed-size slots, appended at the end: the entry index (64-byte slots) and the
 * tree's level files (32-byte node hashes). Reads are synchronous preads, so a Merkle proof
 * is a few dozen page-cache reads; appends go through the thread pool.
 */
export class FixedSlotFile {
  readonly path: string;
  readonly slotBytes: number;
  private readonly fd: number;
  private handle: FileHandle | undefined;
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

  async append(buf: Buffer): Promise<void> {
    this.handle ??= await open(this.path, "r+");
    let written = 0;
    while (written < buf.byteLength) {
      const at = this.slots * this.slotBytes + written;
      const { bytesWritten } = await this.handle.write(buf, written, buf.byteLength - written, at);
      written += bytesWritten;
    }
    this.slots += buf.byteLength / this.slotBytes;
  }

  appendSync(buf: Buffer): void {
    writeSync(this.fd, buf, 0, buf.byteLength, this.slots * this.slotBytes);
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
    await this.handle?.close();
    this.handle = undefined;
    closeSync(this.fd);
  }
}
