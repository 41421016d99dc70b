// Serving certificate and key read from files and reloaded when they change, so that a
// cert-manager rotation (which swaps the Secret volume's `..data` symlink) needs no restart.
import { readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { createSecureContext } from "node:tls";

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The certificate or key could not be read, or they do not form a usable pair. */
export class TlsLoadFailed extends Error {
  readonly file: string;
  constructor(file: string, options: ErrorOptions) {
    super(
      `webhook tls: cannot load ${file}: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = "TlsLoadFailed";
    this.file = file;
  }
}

function readOne(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e: unknown) {
    throw new TlsLoadFailed(file, { cause: e });
  }
}

/** Reads both files and checks that Node accepts them as a pair. */
export function loadTls(certFile: string, keyFile: string): TlsMaterial {
  const material = { cert: readOne(certFile), key: readOne(keyFile) };
  try {
    createSecureContext(material);
  } catch (e: unknown) {
    throw new TlsLoadFailed(`${certFile} + ${keyFile}`, { cause: e });
  }
  return material;
}

function fingerprint(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return "missing";
  }
}

export interface TlsWatchOptions {
  certFile: string;
  keyFile: string;
  /** Periodic stat, the safety net for missed fs events (network volumes, symlink swaps). */
  pollMs?: number;
  onReload(material: TlsMaterial): void;
  /** A changed pair that does not load yet (half-written): the old pair keeps serving. */
  onError(error: TlsLoadFailed): void;
}

/** Watches the two files; returns a stop function. */
export function watchTls(options: TlsWatchOptions): () => void {
  const files = [options.certFile, options.keyFile];
  let last = files.map(fingerprint).join("|");
  const check = (): void => {
    const now = files.map(fingerprint).join("|");
    if (now === last) return;
    try {
      options.onReload(loadTls(options.certFile, options.keyFile));
      last = now;
    } catch (e: unknown) {
      if (e instanceof TlsLoadFailed) options.onError(e);
      else throw e;
    }
  };
  const watchers: FSWatcher[] = [...new Set(files.map((f) => dirname(f)))].flatMap((dir) => {
    try {
      const w = watch(dir, () => check());
      w.on("error", () => undefined); // the poll below still covers this directory
      return [w];
    } catch {
      return [];
    }
  });
  const timer = setInterval(check, options.pollMs ?? 10_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const w of watchers) w.close();
  };
}
