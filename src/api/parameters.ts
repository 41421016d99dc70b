// spec.training.parameters: the hyperparameters a run was trained with, as the user writes them
// (`learningRate: 3e-4`, `epochs: 3`, `bf16: true`, `optimizer: adamw`). A value is a string, a
// number or a boolean: the CRD says so with PARAMETER_VALUE_SCHEMA, and parameterProblems() says
// it again, in words, for the webhook and for files read without an API server.
//
// The canonical form (what a signature covers) is the spec's RFC 8785 JSON, as for every field:
// a number is signed as the IEEE-754 double it reads as, written the shortest way that reads
// back the same (ECMAScript Number::toString), so 3e-4, 0.0003 and 3.0E-4 are one value and one
// signature (`0.0003`), and 1e3 is 1000. A quoted "3e-4" is a string: another value, another
// signature. Strings are signed as they always were, so signatures over string-valued specs
// made before numbers were allowed still verify.
import type { FieldError } from "./validate.ts";

/**
 * The schema of one parameter. A structural schema gives each node one type, and CEL cannot see a
 * value that has none, so "a string, a number or a boolean" is said with value validations that
 * every scalar passes: a list or an object has too many items or properties (an empty one is
 * refused by enum), and a number is bounded as signable.ts bounds integers.
 */
export const PARAMETER_VALUE_SCHEMA = {
  "x-kubernetes-preserve-unknown-fields": true,
  allOf: [{ maxProperties: 0 }, { maxItems: 0 }],
  not: { enum: [{}, []] },
  minimum: -Number.MAX_SAFE_INTEGER,
  maximum: Number.MAX_SAFE_INTEGER,
};

function member(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

export function parameterProblems(parameters: Record<string, unknown> | undefined): FieldError[] {
  return Object.entries(parameters ?? {}).flatMap(([key, value]) => {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return [];
    const what = value === null ? "null" : Array.isArray(value) ? "a list" : "an object";
    return [
      {
        field: `spec.training.parameters${member(key)}`,
        message: `is ${what}; a parameter is a string, a number or a boolean`,
      },
    ];
  });
}
