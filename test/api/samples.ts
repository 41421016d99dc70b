import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export const SAMPLES = join(import.meta.dirname, "..", "..", "samples");

/** Every object in a samples file (multi-document YAML). */
export function sampleObjects(file: string): Record<string, unknown>[] {
  const text = readFileSync(join(SAMPLES, file), "utf8");
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
}

export function sampleFiles(dir = ""): string[] {
  return readdirSync(join(SAMPLES, dir))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, f));
}
