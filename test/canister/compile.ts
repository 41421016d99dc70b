// Compiles canister/src/main.mo (or main.mo in another source directory, e.g. a variant for an
// upgrade test) to IC wasm (wasm64, loads in Node 24) plus its Candid, cached on disk under
// canister/build/ keyed by the sources' hash, so test files do not recompile.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canisterSources, canisterSrc, motoko, repoRoot } from "./motoko.ts";

export const buildDir = join(repoRoot, "canister", "build");

export class CanisterCompileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CanisterCompileError";
  }
}

function sourceHash(sources: Map<string, string>): string {
  const h = createHash("sha256");
  h.update(String(motoko().version));
  for (const [name, text] of sources) h.update(`${name}\0${text}\0`);
  return h.digest("hex").slice(0, 16);
}

/** Compiles `main.mo` of `sources`, written to their own directory of the compiler's file system. */
function compileNow(
  sources: Map<string, string>,
  key: string,
  dir: string,
): { wasm: Uint8Array; did: string } {
  const m = motoko();
  for (const [name, text] of sources) m.write(`src-${key}/${name}`, text);
  const main = `src-${key}/main.mo`;
  const errors = m.check(main).filter((d) => d.severity === 1);
  if (errors.length > 0) {
    const first = errors.map((d) => `${d.source}:${d.range.start.line + 1}: ${d.message}`).join("\n");
    throw new CanisterCompileError(`compiling ${join(dir, "main.mo")}:\n${first}`);
  }
  const out: unknown = m.wasm(main, "ic");
  if (typeof out !== "object" || out === null) throw new CanisterCompileError("compiling main.mo: no output");
  const wasm: unknown = Reflect.get(out, "wasm");
  const did: unknown = Reflect.get(out, "candid");
  if (!(wasm instanceof Uint8Array) || typeof did !== "string") {
    throw new CanisterCompileError("compiling main.mo: output has no wasm bytes or candid text");
  }
  return { wasm, did };
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * The compiled canister from `sourceDir` (default canister/src): from the cache when the
 * sources and compiler are unchanged, else compiled now. `fresh` always compiles (make
 * canister-check does, on every `make test`).
 */
export async function compileCanister(
  options: { fresh?: boolean; sourceDir?: string } = {},
): Promise<{ wasm: Uint8Array; did: string }> {
  const dir = options.sourceDir ?? canisterSrc;
  const sources = canisterSources(dir);
  if (!sources.has("main.mo")) throw new CanisterCompileError(`${dir} has no main.mo`);
  const key = sourceHash(sources);
  const wasmPath = join(buildDir, `ledger-${key}.wasm`);
  const didPath = join(buildDir, `ledger-${key}.did`);
  if (options.fresh !== true && existsSync(wasmPath) && existsSync(didPath)) {
    return { wasm: new Uint8Array(readFileSync(wasmPath)), did: readFileSync(didPath, "utf8") };
  }
  const built = compileNow(sources, key, dir);
  mkdirSync(buildDir, { recursive: true });
  writeAtomic(didPath, built.did);
  writeAtomic(wasmPath, built.wasm);
  return built;
}
