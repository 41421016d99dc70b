// Values a signature can cover unambiguously. A signature is over the canonical JSON of the value
// as parsed here; the API server keeps its own reading of the same text. JSON does not bound
// numbers: JavaScript reads them as IEEE doubles, the API server reads an integer's text as int64,
// and beyond 2^53 the two disagree, so 2^53 + 1 would verify under a signature over 2^53. Text
// with a fraction or an exponent both read as the same double (correct rounding) and write back
// the shortest way (Go's encoding/json and RFC 8785 both follow ECMAScript), so 3e-4 is signable;
// an integer-valued double past 2^53 (1e300) is not, as its text may be read as int64 elsewhere.
// Go's decoder replaces lone UTF-16 surrogates with U+FFFD, so such a string would also be
// persisted as another value.
import type { FieldError } from "./validate.ts";

function member(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return `${String(n)} is not a finite number, which JSON cannot carry`;
  if (!Number.isInteger(n) || Number.isSafeInteger(n)) return undefined;
  return `${String(n)} is an integer outside ±(2^53 - 1): JSON parsers may read its text as another value, so it cannot be signed (write it as a string)`;
}

/** Every number and string below `path` that a signature could not pin down, with its field path. */
export function unsignableValues(value: unknown, path: string): FieldError[] {
  if (typeof value === "number") {
    const problem = numberProblem(value);
    return problem === undefined ? [] : [{ field: path, message: problem }];
  }
  if (typeof value === "string") {
    return value.isWellFormed()
      ? []
      : [{ field: path, message: "is not well-formed Unicode (a lone UTF-16 surrogate)" }];
  }
  if (Array.isArray(value)) return value.flatMap((v: unknown, i) => unsignableValues(v, `${path}[${i}]`));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k.isWellFormed() ? [] : [{ field: member(path, k), message: "key is not well-formed Unicode" }]),
    ...unsignableValues(v, member(path, k)),
  ]);
}
