// The committed state of a canister memory, for rolling back a trapped call or a query.
// A Motoko heap on this host soon spans hundreds of MiB (the incremental GC claims whole
// partitions), so instead of two full copies per message the host keeps one copy in step
// with the memory page by page: a rollback or a commit costs a comparison plus the pages that
// differ.
const PAGE = 65536;

function copyChangedPages(to: Uint8Array, from: Uint8Array): void {
  for (let at = 0; at < from.byteLength; at += PAGE) {
    const src = from.subarray(at, at + PAGE);
    const dst = to.subarray(at, at + PAGE);
    if (Buffer.compare(src, dst) !== 0) dst.set(src);
  }
}

export class CommittedBytes {
  private copy: Uint8Array;

  constructor(current: Uint8Array) {
    this.copy = current.slice();
  }

  get byteLength(): number {
    return this.copy.byteLength;
  }

  /** Makes `current` the committed state. */
  commit(current: Uint8Array): void {
    if (current.byteLength !== this.copy.byteLength) this.copy = current.slice();
    else copyChangedPages(this.copy, current);
  }

  /** Writes the committed state back into `current`; bytes past its end (grown since) are zeroed. */
  restoreInto(current: Uint8Array): void {
    if (current.byteLength < this.copy.byteLength)
      throw new RangeError(`memory shrank from ${this.copy.byteLength} to ${current.byteLength} bytes`);
    copyChangedPages(current, this.copy);
    current.fill(0, this.copy.byteLength);
  }

  /** A fresh copy of the committed state. */
  bytes(): Uint8Array {
    return this.copy.slice();
  }
}
