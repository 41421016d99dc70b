// `--source dir:PATH`: ModelVersions, trust policies and Namespaces read from YAML/JSON files,
// and the facts of a ledger (recorded spec digests, tip), for CI pre-flight checks and for
// serving the HTTP layer without a cluster.
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { Ledger } from "../ledger/index.ts";
import type { LedgerFacts, VerifiedCache } from "./cache.ts";
import { TrailIndex } from "../trail/index.ts";
import { isRecord } from "./review.ts";
import { readYamlDocuments, yamlLimits, YamlInputRefused, type YamlLimits } from "./yaml-input.ts";

/** A manifest file could not be read or parsed; the message names file and document. */
export class ManifestReadFailed extends Error {
  readonly file: string;
  constructor(file: string, problem: string, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
    this.name = "ManifestReadFailed";
    this.file = file;
  }
}

export interface ManifestObject {
  file: string;
  /** 0-based document index within the file. */
  doc: number;
  object: Record<string, unknown>;
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/**
 * Every YAML document of a file (a JSON file is one YAML document); `kind: List` is expanded.
 * The file is read and parsed within `limits` (see yaml-input.ts).
 */
export function readManifestFile(file: string, limits: YamlLimits = yamlLimits()): ManifestObject[] {
  const out: ManifestObject[] = [];
  try {
    for (const { index: doc, value } of readYamlDocuments(file, limits)) {
      if (value === null || value === undefined) continue;
      if (!isRecord(value)) throw new ManifestReadFailed(file, `document ${doc} is not a mapping`);
      const items = value["kind"] === "List" && Array.isArray(value["items"]) ? value["items"] : [value];
      for (const item of items) if (isRecord(item)) out.push({ file, doc, object: item });
    }
  } catch (e: unknown) {
    if (e instanceof YamlInputRefused) throw new ManifestReadFailed(file, e.problem, { cause: e });
    throw e;
  }
  return out;
}

/** Manifest files directly in a directory (not below: `samples/bad/` stays out), sorted. */
export function manifestFiles(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e: unknown) {
    throw new ManifestReadFailed(path, "cannot be read", { cause: e });
  }
  if (!isDirectory) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      if (e.name.startsWith(".") || !e.isFile()) return [];
      return MANIFEST_EXTENSIONS.has(extname(e.name)) ? [join(path, e.name)] : [];
    });
}

function metadataOf(object: Record<string, unknown>): { name: string; labels: Record<string, string> } {
  const metadata = isRecord(object["metadata"]) ? object["metadata"] : {};
  const labels = isRecord(metadata["labels"]) ? metadata["labels"] : {};
  const strings = Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string");
  return {
    name: typeof metadata["name"] === "string" ? metadata["name"] : "",
    labels: Object.fromEntries(strings),
  };
}

/**
 * Feeds the cache the ModelVersions of manifests, and nothing that configures trust: what
 * objects under test (`modelchain check -f`) may bring with them. Returns one problem line per
 * ModelVersion that was not usable.
 */
export function loadModelVersions<MV, P>(
  cache: VerifiedCache<MV, P>,
  objects: readonly ManifestObject[],
): string[] {
  return objects.flatMap(({ file, doc, object }) => {
    if (object["kind"] !== "ModelVersion") return [];
    const problem = cache.putModelVersion(object);
    return problem === undefined ? [] : [`${file} (document ${doc}): ModelVersion ${problem}`];
  });
}

/**
 * Feeds the cache from a policy source: ModelVersions, trust policies and Namespaces (whose
 * labels decide which policies apply). Returns one problem line per object that was not usable.
 */
export function loadManifests<MV, P>(
  cache: VerifiedCache<MV, P>,
  objects: readonly ManifestObject[],
): string[] {
  const problems = loadModelVersions(cache, objects);
  for (const { file, doc, object } of objects) {
    const where = `${file} (document ${doc})`;
    if (object["kind"] === "ModelTrustPolicy") {
      const problem = cache.putPolicy(object);
      if (problem !== undefined) problems.push(`${where}: ModelTrustPolicy ${problem}`);
    } else if (object["kind"] === "Namespace") {
      const { name, labels } = metadataOf(object);
      cache.putNamespace(name, { ...labels, "kubernetes.io/metadata.name": name });
    }
  }
  return problems;
}

/**
 * The tip of a ledger and the registrations and revocations in it (see src/trail/registrations.ts). With
 * `previous`, only the entries appended since are read (the ledger is append-only); the same
 * facts come back when nothing was appended, so the cache keeps its verdicts.
 */
export async function readLedgerFacts(ledger: Ledger, previous?: LedgerFacts): Promise<LedgerFacts> {
  const size = await ledger.size();
  if (previous !== undefined && size === previous.tip?.size) return previous;
  const trail = new TrailIndex(previous?.registrations, previous?.revocations);
  await trail.follow(ledger);
  const { registrations, revocations } = trail;
  return { tip: { size: trail.size, root: await ledger.root(trail.size) }, registrations, revocations };
}
