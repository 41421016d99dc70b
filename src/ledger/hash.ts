import { hash } from "node:crypto";
import { LedgerError } from "./errors.ts";

/** A SHA-256 digest. Hex at the edges (JSON, CLI), bytes inside. */
export type Hash = Uint8Array;

export function sha256(...parts: Uint8Array[]): Hash {
  // One-shot hashing is about twice as fast as createHash for the small inputs of a tree.
  const input = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
  return new Uint8Array(hash("sha256", input, "buffer"));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export class HexDecodeError extends LedgerError {
  constructor(what: string, value: string) {
    super(`${what}: ${JSON.stringify(value.slice(0, 80))} is not lowercase hex of a 32-byte hash`);
    this.name = "HexDecodeError";
  }
}

/** Parses a lowercase hex SHA-256 digest; `what` names the field in the error. */
export function hashFromHex(value: string, what = "hash"): Hash {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new HexDecodeError(what, value);
  return new Uint8Array(Buffer.from(value, "hex"));
}

export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
