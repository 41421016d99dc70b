// Verification of RFC 6962 proofs (RFC 9162 §2.1.3.2 and §2.1.4.2), as pure functions in
// pairs: compute the root a proof leads to, then compare it with the expected root.
import { EMPTY_ROOT, hashChildren, ProofInputError, RootMismatchError } from "./merkle.ts";
import { sameHash, type Hash } from "./hash.ts";

function bitLength(n: number): number {
  return n === 0 ? 0 : Math.floor(Math.log2(n)) + 1;
}

function onesCount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

function trailingZeros(n: number): number {
  let count = 0;
  for (let v = n; v > 0 && v % 2 === 0; v /= 2) count++;
  return count;
}

function bit(n: number, i: number): number {
  return Math.floor(n / 2 ** i) % 2;
}

/**
 * Splits an inclusion proof for `index` in a tree of `size` into the part below the point
 * where the paths to `index` and to the last leaf diverge (inner) and the part above it,
 * where the tree's right border is (border).
 */
function decomposeInclusion(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  const border = onesCount(Math.floor(index / 2 ** inner));
  return { inner, border };
}

function xor(a: number, b: number): number {
  // Indexes can exceed 2^31, so XOR bit by bit on safe integers.
  let result = 0;
  for (let i = 0, x = a, y = b; x > 0 || y > 0; i++, x = Math.floor(x / 2), y = Math.floor(y / 2)) {
    if (x % 2 !== y % 2) result += 2 ** i;
  }
  return result;
}

function chainInner(seed: Hash, proof: readonly Hash[], index: number): Hash {
  return proof.reduce(
    (acc, h, i) => (bit(index, i) === 0 ? hashChildren(acc, h) : hashChildren(h, acc)),
    seed,
  );
}

function chainInnerRight(seed: Hash, proof: readonly Hash[], index: number): Hash {
  return proof.reduce((acc, h, i) => (bit(index, i) === 1 ? hashChildren(h, acc) : acc), seed);
}

function chainBorderRight(seed: Hash, proof: readonly Hash[]): Hash {
  return proof.reduce((acc, h) => hashChildren(h, acc), seed);
}

function checkSize(what: string, got: number, want: number): void {
  if (got !== want) throw new ProofInputError(`wrong ${what} size ${got}, want ${want}`);
}

const HASH_BYTES = 32;

function checkHashes(what: string, hashes: readonly Hash[]): void {
  hashes.forEach((h, i) => {
    if (h.byteLength !== HASH_BYTES)
      throw new ProofInputError(`${what}[${i}] is ${h.byteLength} bytes, want ${HASH_BYTES}`);
  });
}

function checkTreeCoordinates(index: number, size: number): void {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) {
    throw new ProofInputError(`index ${index} and size ${size} must be non-negative integers`);
  }
  if (index >= size) throw new ProofInputError(`index ${index} is beyond size ${size}`);
}

export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Hash,
  proof: readonly Hash[],
): Hash {
  checkTreeCoordinates(index, size);
  if (leafHash.byteLength !== HASH_BYTES)
    throw new ProofInputError(`leaf hash is ${leafHash.byteLength} bytes, want ${HASH_BYTES}`);
  const { inner, border } = decomposeInclusion(index, size);
  checkSize("proof", proof.length, inner + border);
  checkHashes("proof", proof);
  const innerRoot = chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(innerRoot, proof.slice(inner));
}

export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Hash,
  proof: readonly Hash[],
  root: Hash,
): void {
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  if (!sameHash(calculated, root)) throw new RootMismatchError(root, calculated);
}

/**
 * The root of the larger tree that a consistency proof leads to, after checking the smaller.
 * Requires 0 < size1 <= size2: a proof from the empty tree is meaningless (every tree extends
 * it), so it is refused rather than accepted whatever the roots; see `verifyExtends`.
 */
export function rootFromConsistencyProof(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
): Hash {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) {
    throw new ProofInputError(`consistency sizes ${size1} -> ${size2}: want 0 <= size1 <= size2`);
  }
  if (size1 === 0)
    throw new ProofInputError(
      "a consistency proof from the empty tree is meaningless: every tree extends it",
    );
  if (size1 === size2) {
    checkSize("proof", proof.length, 0);
    return root1;
  }
  if (proof.length === 0) throw new ProofInputError("empty consistency proof for different sizes");
  checkHashes("proof", proof);
  const decomposed = decomposeInclusion(size1 - 1, size2);
  const shift = trailingZeros(size1);
  const inner = decomposed.inner - shift;
  const startsAtOldRoot = size1 === 2 ** shift;
  const seed = startsAtOldRoot ? root1 : (proof[0] as Hash);
  const rest = startsAtOldRoot ? proof : proof.slice(1);
  checkSize("proof", proof.length, (startsAtOldRoot ? 0 : 1) + inner + decomposed.border);
  const mask = Math.floor((size1 - 1) / 2 ** shift);
  const innerProof = rest.slice(0, inner);
  const borderProof = rest.slice(inner);
  const calculated1 = chainBorderRight(chainInnerRight(seed, innerProof, mask), borderProof);
  if (!sameHash(calculated1, root1)) throw new RootMismatchError(root1, calculated1);
  return chainBorderRight(chainInner(seed, innerProof, mask), borderProof);
}

export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
): void {
  const calculated2 = rootFromConsistencyProof(size1, size2, proof, root1);
  if (!sameHash(calculated2, root2)) throw new RootMismatchError(root2, calculated2);
}

/**
 * That the tree head (size2, root2) extends (size1, root1), for callers holding two heads: as
 * `verifyConsistency`, except that the empty tree — whose root must then be the empty root —
 * is extended by every tree, with an empty proof.
 */
export function verifyExtends(
  size1: number,
  size2: number,
  proof: readonly Hash[],
  root1: Hash,
  root2: Hash,
): void {
  if (size1 !== 0) return verifyConsistency(size1, size2, proof, root1, root2);
  if (!Number.isSafeInteger(size2) || size2 < 0)
    throw new ProofInputError(`tree size ${size2} must be a non-negative integer`);
  checkSize("proof", proof.length, 0);
  if (!sameHash(root1, EMPTY_ROOT)) throw new RootMismatchError(EMPTY_ROOT, root1);
  if (size2 === 0 && !sameHash(root2, EMPTY_ROOT)) throw new RootMismatchError(EMPTY_ROOT, root2);
}
