import { Option } from "commander";
import { createRequire } from "node:module";

/** Exit codes shared by every command: 0 ok, 1 a check failed, 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Bad flags, unreadable files, malformed input: exit 2 with the message. */
export class CliInputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliInputError";
  }
}

/** A verification the user asked for did not pass: exit 1 with the message. */
export class CheckFailedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckFailedError";
  }
}

export const OUTPUT_FORMATS = ["json", "yaml", "table"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * `-o` of every command: JSON by default (what tools read and what the README's examples pipe),
 * YAML, or a table for people.
 */
export const outputOption = (): Option =>
  new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("json");

/** A result as one YAML document (aliases off: repeated values are written out, as JSON would). */
export function yamlText(value: unknown): string {
  // Loaded on first use: most commands print JSON, and the yaml package is ~9 MiB of a process.
  const { stringify } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return stringify(value, { aliasDuplicateObjects: false });
}

/** Writes a result: JSON or YAML (one document), or a two-column table of its top-level fields. */
export function printResult(value: unknown, format: OutputFormat = "json"): void {
  if (format === "yaml") {
    process.stdout.write(yamlText(value));
    return;
  }
  if (format === "json" || typeof value !== "object" || value === null) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const rows = Object.entries(value).map(
    ([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)] as const,
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

/** Parses a non-negative integer flag; the flag name goes into the error. */
export function parseIndex(flag: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new CliInputError(`${flag}: ${JSON.stringify(value)} is not a non-negative integer`);
    }
    return Number(value);
  };
}

/** Parses an integer flag that must be at least `min` (a limit below it could never work). */
export function parseAtLeast(flag: string, min: number, why: string): (value: string) => number {
  const parse = parseIndex(flag);
  return (value) => {
    const n = parse(value);
    if (n < min) throw new CliInputError(`${flag}: ${n} is below ${min}: ${why}`);
    return n;
  };
}
