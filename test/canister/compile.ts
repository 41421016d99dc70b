// Compiles canister/src/main.mo to IC wasm (wasm64, loads in Node 24) plus its Candid, cached
// on disk under canister/build/ keyed by the sources' hash, so test files do not recompile.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { canisterSources, motoko, repoRoot } from "./motoko.ts";

export const buildDir = join(repoRoot, "canister", "build");

export class CanisterCompileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CanisterCompileError";
  }
}

function sourceHash(): string {
  const h = createHash("sha256");
  h.update(String(motoko().version));
  for (const [name, text] of canisterSources()) h.update(`${name}\0${text}\0`);
  return h.digest("hex").slice(0, 16);
}

function compileNow(): { wasm: Uint8Array; did: string } {
  const m = motoko();
  const errors = m.check("main.mo").filter((d) => d.severity === 1);
  if (errors.length > 0) {
    const first = errors.map((d) => `${d.source}:${d.range.start.line + 1}: ${d.message}`).join("\n");
    throw new CanisterCompileError(`compiling canister/src/main.mo:\n${first}`);
  }
  const out: unknown = m.wasm("main.mo", "ic");
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
 * The compiled canister: from the cache when the sources and compiler are unchanged, else
 * compiled now. `fresh` always compiles (make canister-check does, on every `make test`).
 */
export async function compileCanister(options: { fresh?: boolean } = {}): Promise<{ wasm: Uint8Array; did: string }> {
  const key = sourceHash();
  const wasmPath = join(buildDir, `ledger-${key}.wasm`);
  const didPath = join(buildDir, `ledger-${key}.did`);
  if (options.fresh !== true && existsSync(wasmPath) && existsSync(didPath)) {
    return { wasm: new Uint8Array(readFileSync(wasmPath)), did: readFileSync(didPath, "utf8") };
  }
  const built = compileNow();
  mkdirSync(buildDir, { recursive: true });
  writeAtomic(didPath, built.did);
  writeAtomic(wasmPath, built.wasm);
  return built;
}
