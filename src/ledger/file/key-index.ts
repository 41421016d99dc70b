import { sameHash } from "../hash.ts";
import type { FixedSlotFile } from "./fixed-file.ts";
import { SLOT_BYTES } from "./record.ts";

/**
 * Idempotency keys → entry index. The map is keyed by the first 48 bits of the key's
 * SHA-256 (a plain number, cheap to hold for millions of entries); a hit is confirmed on the
 * full 128-bit key hash the caller reads from the index, so prefix collisions are harmless.
 */
export class KeyIndex {
  private readonly byPrefix = new Map<number, number | number[]>();

  private static prefix(keyHash: Uint8Array): number {
    return Buffer.from(keyHash.buffer, keyHash.byteOffset, 6).readUIntBE(0, 6);
  }

  /** Adds the keys of the first `count` slots of the entry index (the key hash is a slot's last 16 bytes). */
  load(slots: FixedSlotFile, count: number): void {
    const chunk = 65_536;
    for (let first = 0; first < count; first += chunk) {
      const n = Math.min(chunk, count - first);
      const buf = slots.readRange(first, n);
      for (let i = 0; i < n; i++)
        this.add(buf.subarray(i * SLOT_BYTES + 48, (i + 1) * SLOT_BYTES), first + i);
    }
  }

  add(keyHash: Uint8Array, index: number): void {
    const p = KeyIndex.prefix(keyHash);
    const existing = this.byPrefix.get(p);
    if (existing === undefined) this.byPrefix.set(p, index);
    else if (typeof existing === "number") this.byPrefix.set(p, [existing, index]);
    else existing.push(index);
  }

  find(keyHash: Uint8Array, keyHashAt: (index: number) => Uint8Array): number | undefined {
    const found = this.byPrefix.get(KeyIndex.prefix(keyHash));
    const candidates = found === undefined ? [] : typeof found === "number" ? [found] : found;
    return candidates.find((index) => sameHash(keyHashAt(index), keyHash));
  }
}
