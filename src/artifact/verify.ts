// Does a model on disk have the digest the signed ModelVersion names? The one check behind
// `artifact verify`, `artifact fetch` and the init containers. `expectedFiles` is the seam for a
// per-file manifest from a verified signature bundle: with it, a mismatch names the first file
// that differs; without it, only the two digests can be named.
import { firstDifference, manifestDigest, type FileDigest } from "./manifest.ts";
import { modelFiles } from "./walk.ts";

export interface Difference {
  path: string;
  expected?: string;
  actual?: string;
}

/** The bytes are not the signed bytes: both digests, and the first differing file when known. */
export class ArtifactDigestMismatch extends Error {
  override readonly name = "ArtifactDigestMismatch";
  readonly expected: string;
  readonly actual: string;
  readonly difference: Difference | undefined;
  constructor(where: string, expected: string, actual: string, difference?: Difference, hint = "") {
    super(`artifact ${where}: digest ${actual}, expected ${expected}${describe(difference)}${hint}`);
    this.expected = expected;
    this.actual = actual;
    this.difference = difference;
  }
}

/** The per-file manifest given does not add up to the digest it is meant to explain. */
export class ArtifactManifestMismatch extends Error {
  override readonly name = "ArtifactManifestMismatch";
  constructor(expected: string, computed: string) {
    super(`artifact manifest: its files add up to ${computed}, not the expected digest ${expected}`);
  }
}

function describe(d: Difference | undefined): string {
  if (d === undefined) return "";
  const path = JSON.stringify(d.path);
  if (d.expected === undefined) return `; first difference: extra file ${path}`;
  if (d.actual === undefined) return `; first difference: missing file ${path}`;
  return `; first difference: file ${path} has sha256 ${d.actual}, expected ${d.expected}`;
}

export interface VerifiedArtifact {
  digest: string;
  files: FileDigest[];
}

/** Checks computed files against the expected digest (and manifest); throws ArtifactDigestMismatch. */
export function checkFiles(
  where: string,
  files: readonly FileDigest[],
  expectedDigest: string,
  expectedFiles?: readonly FileDigest[],
): VerifiedArtifact {
  if (expectedFiles !== undefined) {
    const listed = manifestDigest(expectedFiles);
    if (listed !== expectedDigest) throw new ArtifactManifestMismatch(expectedDigest, listed);
  }
  const actual = manifestDigest(files);
  if (actual === expectedDigest) return { digest: actual, files: [...files] };
  const difference = expectedFiles === undefined ? undefined : firstDifference(expectedFiles, files);
  // A single file's plain SHA-256 given as the digest is the likeliest mistake: say so.
  const only = files.length === 1 ? files[0] : undefined;
  const hint =
    only !== undefined && expectedDigest === `sha256:${only.sha256}`
      ? ` (the expected digest is this file's plain SHA-256; an artifact's digest is its manifest digest, SHA-256 over the file digests)`
      : "";
  throw new ArtifactDigestMismatch(where, expectedDigest, actual, difference, hint);
}

/** Hashes a model directory (or a single file) and checks it against the expected digest. */
export async function verifyDirectory(
  path: string,
  expectedDigest: string,
  expectedFiles?: readonly FileDigest[],
): Promise<VerifiedArtifact> {
  return checkFiles(JSON.stringify(path), await modelFiles(path), expectedDigest, expectedFiles);
}
