import { readFileSync } from "node:fs";
import { DEFAULT_YAML_MAX_BYTES, yamlLimits, type YamlLimits } from "../webhook/yaml-limits.ts";
import { CliInputError } from "./output.ts";

export const MAX_INPUT_BYTES_FLAG = "--max-input-bytes";

let limits = yamlLimits(DEFAULT_YAML_MAX_BYTES, MAX_INPUT_BYTES_FLAG);

/** Set once from the global flag, before a command runs. */
export function setInputLimit(maxBytes: number): void {
  limits = yamlLimits(maxBytes, MAX_INPUT_BYTES_FLAG);
}

/** The limits every YAML input of this run is read within. */
export function inputLimits(): YamlLimits {
  return limits;
}

/** Reads a file, or standard input for "-" / no file; errors name the file. */
export function readInput(file: string | undefined): Buffer {
  const source = file ?? "-";
  try {
    return readFileSync(source === "-" ? 0 : source);
  } catch (e: unknown) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new CliInputError(`cannot read ${source === "-" ? "standard input" : source}: ${reason}`, {
      cause: e,
    });
  }
}

/** Parses JSON from a file or stdin; the error names the file and JSON's own complaint. */
export function readJson(file: string | undefined): unknown {
  const text = readInput(file).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e: unknown) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new CliInputError(`${file ?? "standard input"} is not valid JSON: ${reason}`, { cause: e });
  }
}
