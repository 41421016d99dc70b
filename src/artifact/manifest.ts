// The digest of a model directory, defined once: the rule OpenSSF Model Signing
// (sigstore/model-transparency, `model-signing` on PyPI) signs, so that a ModelVersion naming a
// directory's digest and a producer's model-signing bundle over that directory agree.
//
// Every regular file gets its SHA-256; the files are ordered by their relative POSIX path,
// compared component by component in code-point order (as Python orders PurePosixPath, so
// `a/b` sorts before `a-b`); the directory's digest is SHA-256 over
// the concatenated 32-byte file digests. Paths themselves are not hashed: the manifest that
// names them is what a signature covers, and the per-file list is what tells a user which file
// differs.
import { createHash } from "node:crypto";

/** One file of a model directory: its path relative to the directory root and its SHA-256. */
export interface FileDigest {
  readonly path: string;
  /** 64 lowercase hex characters. */
  readonly sha256: string;
}

/** Paths model-signing leaves out by default (its `ignore_paths`), matched as path prefixes. */
export const DEFAULT_IGNORED_PATHS: readonly string[] = [".git", ".github", ".gitattributes", ".gitignore"];

/** Whether a relative path is one of `ignored` or below one of them. */
export function isIgnoredPath(relative: string, ignored: readonly string[] = DEFAULT_IGNORED_PATHS): boolean {
  return ignored.some((p) => relative === p || relative.startsWith(`${p}/`));
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

export class ManifestDigestError extends Error {
  override readonly name = "ManifestDigestError";
}

function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function byComponents(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = byCodePoint(x[i] ?? "", y[i] ?? "");
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The files in the order their digests are hashed. */
export function sortedManifest(files: readonly FileDigest[]): FileDigest[] {
  return [...files].sort((a, b) => byComponents(a.path, b.path));
}

/** `sha256:<hex>` of a directory given its files' digests. */
export function manifestDigest(files: readonly FileDigest[]): string {
  const hash = createHash("sha256");
  const seen = new Set<string>();
  for (const file of sortedManifest(files)) {
    if (!HEX_SHA256.test(file.sha256))
      throw new ManifestDigestError(`file ${JSON.stringify(file.path)}: sha256 must be 64 lowercase hex`);
    if (seen.has(file.path)) throw new ManifestDigestError(`file ${JSON.stringify(file.path)} listed twice`);
    seen.add(file.path);
    hash.update(Buffer.from(file.sha256, "hex"));
  }
  return `sha256:${hash.digest("hex")}`;
}

/** The first path whose digest differs, is missing, or is extra, comparing expected to actual. */
export function firstDifference(
  expected: readonly FileDigest[],
  actual: readonly FileDigest[],
): { path: string; expected?: string; actual?: string } | undefined {
  const want = new Map(expected.map((f) => [f.path, f.sha256]));
  const got = new Map(actual.map((f) => [f.path, f.sha256]));
  const paths = sortedManifest([...expected, ...actual.filter((f) => !want.has(f.path))]).map((f) => f.path);
  for (const path of paths) {
    const e = want.get(path);
    const a = got.get(path);
    if (e !== a)
      return { path, ...(e === undefined ? {} : { expected: e }), ...(a === undefined ? {} : { actual: a }) };
  }
  return undefined;
}
