// One object streamed to a file while it is hashed, resumed by range after a transient failure
// (retry timing from src/backoff). The hash covers exactly the bytes written: a resumed range
// continues the same hash, and a store that answers a range with the whole object restarts
// both the file and the hash.
import { createHash, type Hash } from "node:crypto";
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Backoff, type BackoffPolicy } from "../backoff/index.ts";
import { ArtifactFetchFailed, type ArtifactSource, type OpenedRange, type RemoteObject } from "./source.ts";

export interface RetryOptions {
  /** Tries per object, the first included. */
  attempts: number;
  policy: BackoffPolicy;
  /** Told of each retry (for a log line: the object's path and the error, never credentials). */
  onRetry?: (path: string, attempt: number, error: Error) => void;
}

const WRITE_BATCH = 512 * 1024;

/**
 * Hands the memory of chunks already hashed and written back at once, by detaching their buffers.
 * Node's TLS gives every 16 KiB record an ArrayBuffer of its own, and V8 frees one only when a
 * collection finds it dead; it weighs a buffer by its small JavaScript wrapper, not its bytes, so
 * written records pile up: detaching them took 6 MiB off a 512 MiB fetch's peak RSS
 * (bench/artifact-fetch.ts). Only a chunk that owns its whole ArrayBuffer is detached, never a
 * view into a shared one (most of a chunked-encoding body is such views, and stays).
 */
function release(chunks: readonly Uint8Array[]): void {
  for (const chunk of chunks) {
    const { buffer } = chunk;
    if (buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && buffer.byteLength === chunk.byteLength) {
      try {
        buffer.transfer(0);
      } catch (e: unknown) {
        // A buffer marked non-detachable keeps its memory until a collection, as any other would.
        if (!(e instanceof TypeError)) throw e;
      }
    }
  }
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 6, policy: { baseMs: 200, maxMs: 10_000 } };

interface Progress {
  hash: Hash;
  written: number;
  total: number | undefined;
  validator: string | undefined;
}

function isTransient(e: unknown): boolean {
  // Errors from reading a body (reset, aborted, premature close) are the network's.
  return e instanceof ArtifactFetchFailed ? e.transient : true;
}

/** The store sent the object from its start (it ignored the range, or the object changed). */
async function restart(file: FileHandle, p: Progress, range: OpenedRange): Promise<void> {
  await file.truncate(0);
  p.hash = createHash("sha256");
  p.written = 0;
  p.total = range.total;
  p.validator = range.validator;
}

async function onePass(
  source: ArtifactSource,
  object: RemoteObject,
  file: FileHandle,
  p: Progress,
): Promise<void> {
  const range = await source.open(object, p.written, p.validator);
  if (range.start !== p.written) {
    if (range.start !== 0)
      throw new ArtifactFetchFailed(`${object.locator}: range from ${range.start}, asked ${p.written}`, true);
    await restart(file, p, range);
  }
  p.total ??= range.total;
  p.validator ??= range.validator;
  // Network chunks are small (a TLS record or so): written in batches, hashed as they come. One
  // batch is written while the next arrives (a write waits only for the one before it), so the
  // socket is read while the disk writes; two batches of half the size hold what one did.
  let batch: Uint8Array[] = [];
  let batched = 0;
  let end = p.written;
  let writing: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await writing;
    if (batched === 0) return;
    const written = batch;
    const at = end;
    const bytes = batched;
    end += bytes;
    batch = [];
    batched = 0;
    writing = file.writev(written, at).then(
      () => {
        p.written = at + bytes;
        if (range.ownedChunks === true) release(written);
      },
      // Not retried: the bytes are hashed already, and a resumed pass would hash them again. A
      // full or failing disk is the node's fault, said as such, not the artifact's.
      (e: unknown) => {
        const why = e instanceof Error ? e.message : String(e);
        throw new ArtifactFetchFailed(`${object.path}: writing the fetched bytes: ${why}`, false, undefined, {
          cause: e,
        });
      },
    );
    // A write that fails while the next batch arrives is thrown where `writing` is next awaited;
    // handled here too, so it is not an unhandled rejection that ends the process first.
    writing.catch(() => undefined);
  };
  try {
    for await (const chunk of range.body) {
      p.hash.update(chunk);
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH) await flush();
    }
  } finally {
    // What arrived before a failure is kept (and hashed): the resumed range starts after it.
    await flush();
    await writing;
  }
  if (p.total !== undefined && p.written !== p.total)
    throw new ArtifactFetchFailed(
      `${object.locator}: ${p.written < p.total ? "truncated" : "too long"}: got ${p.written} of ${p.total} bytes`,
      p.written < p.total,
    );
}

/** The last failure, naming the object when the error (a reset or aborted body) does not. */
function named(object: RemoteObject, e: unknown, tries: number): unknown {
  if (e instanceof ArtifactFetchFailed || !(e instanceof Error)) return e;
  return new ArtifactFetchFailed(`${object.path}: ${e.message} (after ${tries} tries)`, true, undefined, {
    cause: e,
  });
}

/** Streams `object` into `path`; returns its SHA-256 (hex) and size. Throws after the last try. */
export async function downloadObject(
  source: ArtifactSource,
  object: RemoteObject,
  path: string,
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const file = await open(path, "wx", 0o644);
  const backoff = new Backoff(retry.policy);
  const p: Progress = { hash: createHash("sha256"), written: 0, total: undefined, validator: undefined };
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await onePass(source, object, file, p);
        break;
      } catch (e: unknown) {
        if (!isTransient(e) || attempt >= retry.attempts) throw named(object, e, attempt);
        retry.onRetry?.(object.path, attempt, e instanceof Error ? e : new Error(String(e)));
        await sleep(backoff.next());
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { sha256: p.hash.digest("hex"), bytes: p.written };
}
