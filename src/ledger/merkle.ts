// RFC 6962 §2.1 (and RFC 9162 §2.1.3) Merkle tree hashing, proofs and their verification.
// Pure functions: a tree is read only through a `SubtreeSource`.
import { LedgerError } from "./errors.ts";
import { sha256, toHex, type Hash } from "./hash.ts";

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export function hashLeaf(leaf: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, leaf);
}

export function hashChildren(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

/** MTH({}) = SHA-256() (RFC 6962 §2.1). */
export const EMPTY_ROOT: Hash = sha256();

/**
 * Hashes of complete, aligned subtrees: `(level, index)` is the root of leaves
 * [index·2^level, (index+1)·2^level); level 0 is the leaf hashes. Any RFC 6962 subtree the
 * proofs need is a combination of O(log n) of these, so proofs never need every leaf.
 */
export type SubtreeSource = (level: number, index: number) => Hash;

export class ProofInputError extends LedgerError {
  constructor(message: string) {
    super(message);
    this.name = "ProofInputError";
  }
}

export class RootMismatchError extends LedgerError {
  readonly expected: string;
  readonly calculated: string;
  constructor(expected: Hash, calculated: Hash) {
    super(`root mismatch: calculated ${toHex(calculated)}, expected ${toHex(expected)}`);
    this.name = "RootMismatchError";
    this.expected = toHex(expected);
    this.calculated = toHex(calculated);
  }
}

/** The largest power of two strictly less than n (n > 1): RFC 6962's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** MTH(D[start:end]); `start` is always aligned to a power of two ≥ the range's split point. */
function rangeHash(tree: SubtreeSource, start: number, end: number): Hash {
  const n = end - start;
  if (isPowerOfTwo(n) && start % n === 0) return tree(Math.log2(n), start / n);
  const k = splitPoint(n);
  return hashChildren(rangeHash(tree, start, start + k), rangeHash(tree, start + k, end));
}

export function rootOf(tree: SubtreeSource, size: number): Hash {
  return size === 0 ? EMPTY_ROOT : rangeHash(tree, 0, size);
}

/** PATH(m, D[n]) from RFC 6962 §2.1.1, leaf-side sibling first. */
export function inclusionPath(tree: SubtreeSource, index: number, size: number): Hash[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new ProofInputError(`index ${index} out of range for tree size ${size}`);
  }
  let start = 0;
  let end = size;
  const siblings: Hash[] = [];
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      siblings.push(rangeHash(tree, start + k, end));
      end = start + k;
    } else {
      siblings.push(rangeHash(tree, start, start + k));
      start += k;
    }
  }
  return siblings.reverse();
}

/** PROOF(m, D[n]) from RFC 6962 §2.1.2. */
export function consistencyPath(tree: SubtreeSource, from: number, to: number): Hash[] {
  if (!Number.isSafeInteger(from) || from < 0 || from > to) {
    throw new ProofInputError(`consistency from ${from} to ${to}: want 0 <= from <= to`);
  }
  if (from === 0 || from === to) return [];
  const proof: Hash[] = [];
  let start = 0;
  let end = to;
  let m = from;
  let complete = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      proof.push(rangeHash(tree, start + k, end));
      end = start + k;
    } else {
      proof.push(rangeHash(tree, start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(rangeHash(tree, start, end));
  return proof.reverse();
}
