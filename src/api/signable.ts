// Values a signature can cover unambiguously. A signature is over the canonical JSON of the value
// as parsed here; the API server keeps its own reading of the same text. JSON does not bound
// numbers: JavaScript reads them as IEEE doubles, the API server as int64, and beyond 2^53 the
// two disagree, so 2^53 + 1 would verify under a signature over 2^53. Go's decoder replaces lone
// UTF-16 surrogates with U+FFFD, so such a string would also be persisted as another value.
import type { FieldError } from "./validate.ts";

function member(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function numberProblem(n: number): string | undefined {
  if (Number.isSafeInteger(n)) return undefined;
  return `${String(n)} is not an integer within ±(2^53 - 1): JSON parsers may read its text as another value, so it cannot be signed`;
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
