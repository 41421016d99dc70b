// The write lock on disk. `<dir>/lock/` holds one file per generation of the lock, named by the
// generation in 16 hex digits; the highest generation is the lock's state: who holds it, or that
// its last holder let it go. A generation's file is written complete under a temporary name,
// fsync'd, and linked into place: link(2) fails when the name exists, so exactly one contender
// wins each generation, and nobody ever reads a half-written lock. Generations only grow, so a
// writer that lost the lock can tell by one directory read, and nobody needs to delete another
// writer's file to take over.
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { syncDirectory } from "./segments.ts";

export interface LockRecord {
  generation: number;
  pid: number;
  host: string;
  /** Random per claim: tells two claims apart even if everything else matches. */
  token: string;
  since: string;
  /** The holder let go: the next writer takes the next generation without waiting. */
  released: boolean;
}

/** The highest generation's file as read now. `record` is undefined if its content is not a lock. */
export interface LockTop {
  generation: number;
  path: string;
  record: LockRecord | undefined;
  mtimeMs: number;
}

const GENERATION_NAME = /^[0-9a-f]{16}$/;
const TEMP_PREFIX = "tmp-";

export const lockDirOf = (dir: string): string => join(dir, "lock");

export const generationPath = (lockDir: string, generation: number): string =>
  join(lockDir, generation.toString(16).padStart(16, "0"));

function isCode(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && "code" in e && typeof e.code === "string" && codes.includes(e.code);
}

/** The highest generation on disk; undefined for a fresh directory, or one whose lock files are gone. */
export function highestGeneration(lockDir: string): number | undefined {
  let highest: string | undefined;
  let names: string[];
  try {
    names = readdirSync(lockDir);
  } catch (e: unknown) {
    if (isCode(e, "ENOENT")) return undefined;
    throw e;
  }
  for (const name of names)
    if (GENERATION_NAME.test(name) && (highest === undefined || name > highest)) highest = name;
  return highest === undefined ? undefined : parseInt(highest, 16);
}

function parseRecord(text: string, generation: number): LockRecord | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const r = v as Record<string, unknown>;
    if (typeof r["pid"] !== "number" || typeof r["host"] !== "string" || r["generation"] !== generation)
      return undefined;
    return {
      generation,
      pid: r["pid"],
      host: r["host"],
      token: typeof r["token"] === "string" ? r["token"] : "",
      since: typeof r["since"] === "string" ? r["since"] : "",
      released: r["released"] === true,
    };
  } catch {
    return undefined;
  }
}

/** Reads the highest generation's file; a file removed under us (a successor cleaned up) is read again. */
export function readTop(lockDir: string): LockTop | undefined {
  for (let attempt = 0; attempt < 10; attempt++) {
    const generation = highestGeneration(lockDir);
    if (generation === undefined) return undefined;
    const path = generationPath(lockDir, generation);
    try {
      const mtimeMs = statSync(path).mtimeMs;
      return { generation, path, record: parseRecord(readFileSync(path, "utf8"), generation), mtimeMs };
    } catch (e: unknown) {
      if (!isCode(e, "ENOENT")) throw e;
    }
  }
  throw new Error(`${lockDir}: the lock files keep changing while being read`);
}

/** Which file a name points at: inode and birth time, so a recycled inode number does not match. */
export interface FileIdentity {
  ino: bigint;
  birthtimeNs: bigint;
}

function identityOf(path: string): FileIdentity | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st === undefined ? undefined : { ino: st.ino, birthtimeNs: st.birthtimeNs };
}

/**
 * Writes `record` as its generation's file, all or nothing. Returns the file's identity, or
 * undefined when another contender claimed that generation first.
 */
export function claimGeneration(lockDir: string, record: LockRecord): FileIdentity | undefined {
  mkdirSync(lockDir, { recursive: true });
  const temp = join(lockDir, `${TEMP_PREFIX}${record.token}`);
  const fd = openSync(temp, "wx", 0o644);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const path = generationPath(lockDir, record.generation);
  try {
    linkSync(temp, path);
  } catch (e: unknown) {
    // EEXIST: another contender has this generation. ENOENT: a contender with a much shorter
    // stale window removed our temporary file; either way, look again.
    if (isCode(e, "EEXIST", "ENOENT")) return undefined;
    throw e;
  } finally {
    rmSync(temp, { force: true });
  }
  syncDirectory(lockDir);
  return identityOf(path);
}

/**
 * Removes the files of generations below `generation` (their holders have lost the lock and
 * find out by the higher file, not by theirs missing) and temporary files older than `staleMs`
 * (a contender that died mid-claim).
 */
export function removeSuperseded(lockDir: string, generation: number, staleMs: number): void {
  for (const name of readdirSync(lockDir)) {
    const path = join(lockDir, name);
    try {
      if (GENERATION_NAME.test(name) && parseInt(name, 16) < generation) unlinkSync(path);
      else if (name.startsWith(TEMP_PREFIX) && Date.now() - statSync(path).mtimeMs > staleMs)
        unlinkSync(path);
    } catch (e: unknown) {
      if (!isCode(e, "ENOENT")) throw e;
    }
  }
}

/** Whether `path` is still the file this process linked (not removed, not replaced). */
export function isSameFile(path: string, identity: FileIdentity): boolean {
  const now = identityOf(path);
  return now !== undefined && now.ino === identity.ino && now.birthtimeNs === identity.birthtimeNs;
}
