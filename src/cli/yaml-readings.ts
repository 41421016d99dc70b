// Plain YAML scalars that kubectl reads as another value than modelchain does (pure). modelchain
// reads YAML 1.2 (the yaml package's core schema); kubectl reads YAML through go-yaml v2, which
// keeps YAML 1.1's booleans (yes/no/on/off/y/n), leading-zero octals, binary and digit separators. A
// signature is made over modelchain's reading and checked against what the API server stored
// from kubectl's, so `shuffle: on` would be signed as the string "on" and stored as true: the
// signature could never verify. `modelchain sign` refuses such a file, naming the field.
import { isMap, isScalar, isSeq, type Document, type Node } from "yaml";

export interface DifferentReading {
  /** Field path, e.g. spec.training.parameters.shuffle */
  field: string;
  source: string;
  /** What kubectl sends the API server. */
  kubectl: boolean | number;
  /** What modelchain (YAML 1.2) reads. */
  here: unknown;
}

const YAML11_TRUE = /^(?:y|Y|yes|Yes|YES|on|On|ON)$/;
const YAML11_FALSE = /^(?:n|N|no|No|NO|off|Off|OFF)$/;
const OCTAL = /^([-+]?)0([0-7]+)$/;
const INTEGER = /^([-+]?)(0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$/;

/** YAML 1.2's core schema reads these as the same integer: no separators, no binary, no signed 0x/0o. */
function sameInYaml12(sign: string, body: string): boolean {
  if (body.includes("_") || body.startsWith("0b")) return false;
  return !/^0[xo]/.test(body) || sign === "";
}

/** kubectl's reading of a plain scalar where it may differ from YAML 1.2's, else undefined. */
export function yaml11Reading(source: string): boolean | number | undefined {
  if (YAML11_TRUE.test(source)) return true;
  if (YAML11_FALSE.test(source)) return false;
  const octal = OCTAL.exec(source);
  if (octal !== null) return (octal[1] === "-" ? -1 : 1) * parseInt(octal[2] ?? "", 8);
  const integer = INTEGER.exec(source);
  const [sign = "", body = ""] = integer === null ? [] : integer.slice(1);
  if (integer === null || sameInYaml12(sign, body)) return undefined;
  return (sign === "-" ? -1 : 1) * Number(body.replaceAll("_", ""));
}

function member(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function walk(node: Node | null | undefined, path: string, out: DifferentReading[]): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      walk(pair.value as Node | null, member(path, key), out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as Node | null, `${path}[${i}]`, out));
  } else if (isScalar(node) && node.type === "PLAIN" && typeof node.source === "string") {
    const kubectl = yaml11Reading(node.source);
    if (kubectl !== undefined && kubectl !== node.value)
      out.push({ field: path, source: node.source, kubectl, here: node.value });
  }
}

/** The plain scalars below `spec` of a document that kubectl reads otherwise. */
export function differentReadings(doc: Document): DifferentReading[] {
  const out: DifferentReading[] = [];
  const spec = isMap(doc.contents) ? doc.contents.get("spec", true) : undefined;
  walk(spec as Node | undefined, "spec", out);
  return out;
}

export function describeReading(r: DifferentReading): string {
  const quoted = JSON.stringify(r.source);
  const meant = typeof r.kubectl === "boolean" ? `write ${String(r.kubectl)}` : `write ${r.kubectl}`;
  return `${r.field}: kubectl reads ${r.source} as ${String(r.kubectl)} (YAML 1.1), modelchain as ${JSON.stringify(r.here)} (YAML 1.2), so a signature could not verify; quote it (${quoted}) or ${meant}`;
}
