// The files of a model on disk, hashed as model-signing hashes them: regular files only,
// symbolic links refused (model-signing's default `allow_symlinks=False`), its default ignored
// paths left out. Each file is streamed through SHA-256, never read whole into memory.
import { createHash } from "node:crypto";
import { lstat, open, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { DEFAULT_IGNORED_PATHS, isIgnoredPath, type FileDigest } from "./manifest.ts";

/** A model path that cannot be hashed: a symlink, a device, a socket, or unreadable. */
export class ArtifactWalkFailed extends Error {
  override readonly name = "ArtifactWalkFailed";
  readonly path: string;
  constructor(path: string, problem: string, options?: ErrorOptions) {
    super(`artifact: ${JSON.stringify(path)} ${problem}`, options);
    this.path = path;
  }
}

const READ_CHUNK = 1024 * 1024;

/** SHA-256 of a file's bytes, 64 lowercase hex; one reused buffer, so memory stays flat. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(READ_CHUNK);
  const file = await open(path, "r");
  try {
    for (let n = (await file.read(buffer, 0, READ_CHUNK)).bytesRead; n > 0;) {
      hash.update(buffer.subarray(0, n));
      n = (await file.read(buffer, 0, READ_CHUNK)).bytesRead;
    }
  } finally {
    await file.close();
  }
  return hash.digest("hex");
}

async function entryKind(full: string, relative: string): Promise<"file" | "directory"> {
  const stat = await lstat(full);
  if (stat.isSymbolicLink())
    throw new ArtifactWalkFailed(relative, "is a symbolic link; model paths refuse them");
  if (stat.isDirectory()) return "directory";
  if (stat.isFile()) return "file";
  throw new ArtifactWalkFailed(relative, "is not a regular file or directory");
}

/** Relative POSIX paths of every regular file below `root`, not yet sorted. */
async function listFiles(root: string, ignored: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const pending = [""];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const name of await readdir(join(root, dir))) {
      const relative = dir === "" ? name : `${dir}/${name}`;
      if (isIgnoredPath(relative, ignored)) continue;
      if ((await entryKind(join(root, relative), relative)) === "directory") pending.push(relative);
      else found.push(relative);
    }
  }
  return found;
}

/**
 * The per-file digests of a model: a directory's regular files, or a single file (then its one
 * entry is named after the file; names are not hashed, so the digest is that of a directory
 * holding only this file).
 */
export async function modelFiles(path: string, ignored = DEFAULT_IGNORED_PATHS): Promise<FileDigest[]> {
  let kind: "file" | "directory";
  try {
    kind = await entryKind(path, path);
  } catch (e: unknown) {
    if (e instanceof ArtifactWalkFailed) throw e;
    throw new ArtifactWalkFailed(path, `cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  if (kind === "file") return [{ path: basename(path), sha256: await fileSha256(path) }];
  const files: FileDigest[] = [];
  for (const relative of await listFiles(path, ignored))
    files.push({ path: relative, sha256: await fileSha256(join(path, relative)) });
  return files;
}
