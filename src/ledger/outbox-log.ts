// The outbox on disk:
//   <dir>/outbox.log   records: u32be length ‖ u32be crc32 ‖ canonical entry JSON
//   <dir>/outbox.ack   how many records the ledger has acknowledged (replaced atomically)
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { parseEntry, type LedgerEntry } from "./entry.ts";
import { LedgerError } from "./errors.ts";

export class OutboxCorruptError extends LedgerError {
  constructor(dir: string, record: number, offset: number, problem: string) {
    super(`outbox ${dir}: record ${record} at byte ${offset}: ${problem}`);
    this.name = "OutboxCorruptError";
  }
}

/** Replaces outbox.ack atomically and durably. */
export function writeAck(dir: string, count: number): void {
  const tmp = join(dir, "outbox.ack.tmp");
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, String(count));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, "outbox.ack"));
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function readRecords(
  dir: string,
  fd: number,
  warn: (m: string) => void,
): { entries: LedgerEntry[]; end: number } {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  readSync(fd, buf, 0, size, 0);
  const entries: LedgerEntry[] = [];
  let at = 0;
  while (at < size) {
    if (size - at < 8 || size - at < 8 + buf.readUInt32BE(at)) {
      warn(
        `outbox ${dir}: truncated ${size - at} bytes of a torn, never acknowledged record ${entries.length}`,
      );
      ftruncateSync(fd, at);
      break;
    }
    const length = buf.readUInt32BE(at);
    const body = buf.subarray(at + 8, at + 8 + length);
    if (crc32(body) !== buf.readUInt32BE(at + 4))
      throw new OutboxCorruptError(dir, entries.length, at, "checksum mismatch");
    try {
      entries.push(parseEntry(JSON.parse(body.toString("utf8"))));
    } catch (e: unknown) {
      throw new OutboxCorruptError(dir, entries.length, at, e instanceof Error ? e.message : String(e));
    }
    at += 8 + length;
  }
  return { entries, end: Math.min(at, size) };
}

/** The acknowledged count as stored; a missing or unreadable file counts as none. */
export function readAck(dir: string): number {
  const path = join(dir, "outbox.ack");
  return existsSync(path) ? Number(readFileSync(path, "utf8").trim()) || 0 : 0;
}

/** A record as the log stores it. */
export function encodeRecord(bytes: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(bytes.byteLength, 0);
  header.writeUInt32BE(crc32(bytes), 4);
  return Buffer.concat([header, bytes]);
}
