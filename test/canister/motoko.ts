// One loaded Motoko compiler per process (the `motoko` npm package: moc as JS plus mo:core),
// with canister/src mounted so test programs can import the canister's pure modules.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const canisterSrc = join(repoRoot, "canister", "src");

// The package's index.js exports the compiler object itself, while its typings describe an ES
// module whose default export is that object; require() gives the object, typed as the latter.
type Motoko = typeof import("motoko/lib/versions/moc.js").default;
const mo = createRequire(import.meta.url)("motoko") as Motoko;
type Package = Parameters<Motoko["loadPackage"]>[0];

export class MotokoRunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MotokoRunError";
  }
}

function isPackage(value: unknown): value is Package {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v["name"] === "string" && typeof v["version"] === "string" && typeof v["files"] === "object";
}

let loaded: Motoko | undefined;

/** The compiler with mo:core loaded and every canister/src/*.mo written at the VFS root. */
export function motoko(): Motoko {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const core: unknown = JSON.parse(readFileSync(require.resolve("motoko/packages/latest/core.json"), "utf8"));
  if (!isPackage(core)) throw new MotokoRunError("motoko/packages/latest/core.json is not a package");
  mo.loadPackage(core);
  mo.setRunStepLimit(Number.MAX_SAFE_INTEGER);
  loaded = mo;
  writeSources(mo);
  return mo;
}

/** The Motoko sources in `dir` (default canister/src) by file name, as read now. */
export function canisterSources(dir = canisterSrc): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith(".mo")) out.set(f, readFileSync(join(dir, f), "utf8"));
  }
  return out;
}

function writeSources(m: Motoko): void {
  for (const [name, text] of canisterSources()) m.write(name, text);
}

/** Runs `program` in the interpreter (it may import "Sha256", "Merkle", ...); returns stdout. */
export function runMotoko(name: string, program: string): string {
  const m = motoko();
  m.write(name, program);
  const out = m.run(name);
  if (out.stderr !== "" || out.result.error !== null) {
    throw new MotokoRunError(`running ${name}: ${out.stderr}${JSON.stringify(out.result.error)}`);
  }
  return out.stdout;
}

/** A Motoko Blob literal holding exactly `bytes`. */
export function blobLiteral(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) out += `\\${b.toString(16).padStart(2, "0")}`;
  return `${out}"`;
}

/** A Motoko Text literal for `text` (escapes quotes, backslashes and non-printing ASCII). */
export function textLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}
