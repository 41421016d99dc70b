import { sameHash } from "../hash.ts";

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
