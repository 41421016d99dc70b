// Fenced appends: the write lock can be taken over from a writer that is frozen past the stale
// window, so a writer proves it still holds the lock right before and right after each write,
// and checks that the file ends where its own last write ended. The checks and the write run
// synchronously, back to back, so nothing else this process does can come between them; the
// file is opened O_APPEND, so even a writer that is frozen inside that window lands its bytes
// after everyone else's instead of over them.
import { fstatSync, writeSync } from "node:fs";
import { LedgerAppendFailed } from "./errors.ts";

/** A writer's proof that it still holds the write lock: `check` throws LedgerLockLost if not. */
export interface Fence {
  check(): void;
}

function checkEnd(fd: number, path: string, expected: number, when: string, fence: Fence): void {
  const size = fstatSync(fd).size;
  if (size === expected) return;
  // Most often the other process is the writer that took the lock over: say that, if so.
  fence.check();
  throw new LedgerAppendFailed(
    `${path} is ${size} bytes ${when} this write, this writer expected ${expected}: another process writes to it`,
  );
}

/**
 * Appends `buf` to `fd` (opened with O_APPEND), which must end at `expectedEnd`. Throws
 * LedgerLockLost or LedgerAppendFailed from a check (before the write: nothing was written;
 * after it: the bytes are there but must not be acknowledged), or the write's own error.
 */
export function fencedAppend(fd: number, path: string, buf: Buffer, expectedEnd: number, fence: Fence): void {
  fence.check();
  checkEnd(fd, path, expectedEnd, "before", fence);
  for (let written = 0; written < buf.byteLength;)
    written += writeSync(fd, buf, written, buf.byteLength - written);
  fence.check();
  checkEnd(fd, path, expectedEnd + buf.byteLength, "after", fence);
}
