// Edits to a ledger directory's files, as a power loss or someone with write access to the
// directory would make them, for the tests of what the ledger notices.
import { createHash, generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function segmentPath(dir: string): string {
  return join(dir, "segments", readdirSync(join(dir, "segments"))[0] ?? "");
}

/** A fresh ed25519 private key as PKCS#8 PEM. */
export function otherKeyPem(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * Rewrites entry `index` as if `recordedBy` had recorded it: the leaf bytes, the leaf hash in the
 * record header and in the index slot, consistently — only the recorder is wrong. The derived
 * tree and the checkpoint, which would no longer match, are removed.
 */
export function rewriteRecorder(dir: string, index: number, recordedBy: string): void {
  const slots = readFileSync(join(dir, "index"));
  const offset = Number(slots.readBigUInt64BE(index * 64));
  const length = slots.readUInt32BE(index * 64 + 8);
  const seg = readFileSync(segmentPath(dir));
  const leaf = seg.subarray(offset + 64, offset + 64 + length).toString("utf8");
  const rewritten = Buffer.from(leaf.replace(/"recordedBy":"[^"]*"/, `"recordedBy":"${recordedBy}"`), "utf8");
  if (rewritten.byteLength !== length) throw new Error("the new recorder must have the old one's length");
  const leafHash = createHash("sha256").update(Buffer.of(0)).update(rewritten).digest();
  rewritten.copy(seg, offset + 64);
  leafHash.copy(seg, offset + 16);
  leafHash.copy(slots, index * 64 + 16);
  writeFileSync(segmentPath(dir), seg);
  writeFileSync(join(dir, "index"), slots);
  rmSync(join(dir, "tree"), { recursive: true, force: true });
  rmSync(join(dir, "checkpoint.json"), { force: true });
}

/** Zeroes 32-byte node `index` of tree level `level`, as a power loss leaves an unsynced block. */
export function zeroTreeNode(dir: string, level: number, index: number): void {
  const path = join(dir, "tree", `level-${String(level).padStart(2, "0")}`);
  const bytes = readFileSync(path);
  bytes.fill(0, index * 32, (index + 1) * 32);
  writeFileSync(path, bytes);
}

/** Zeroes index slots [first, first + count). */
export function zeroIndexSlots(dir: string, first: number, count: number): void {
  const path = join(dir, "index");
  const bytes = readFileSync(path);
  bytes.fill(0, first * 64, (first + count) * 64);
  writeFileSync(path, bytes);
}
