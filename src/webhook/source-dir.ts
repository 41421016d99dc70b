// `--source dir:PATH`: ModelVersions, trust policies and Namespaces read from YAML/JSON files,
// and the facts of a ledger (recorded spec digests, tip), for CI pre-flight checks and for
// serving the HTTP layer without a cluster.
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import type { Ledger } from "../ledger/index.ts";
import type { LedgerFacts, VerifiedCache } from "./cache.ts";
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

/** Feeds the cache from manifests; returns one problem line per object that was not usable. */
export function loadManifests<MV, P>(
  cache: VerifiedCache<MV, P>,
  objects: readonly ManifestObject[],
): string[] {
  const problems: string[] = [];
  for (const { file, doc, object } of objects) {
    const where = `${file} (document ${doc})`;
    if (object["kind"] === "ModelVersion") {
      const problem = cache.putModelVersion(object);
      if (problem !== undefined) problems.push(`${where}: ModelVersion ${problem}`);
    } else if (object["kind"] === "ModelTrustPolicy") {
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
 * Spec digests as first registered (ModelVersionRegistered) and the tip of a ledger. The first
 * registration is the reference: the operator records every later spec too, so comparing with
 * the latest would never see a spec changed after registration. An entry for a different uid
 * (the object was deleted and created again) starts over. With `previous`, only the entries
 * appended since are read (the ledger is append-only).
 */
export async function readLedgerFacts(ledger: Ledger, previous?: LedgerFacts): Promise<LedgerFacts> {
  const size = await ledger.size();
  const from = previous?.tip?.size ?? 0;
  if (previous !== undefined && size === from) return previous;
  const digests = new Map(previous?.recordedSpecDigests ?? []);
  const uids = new Map(previous?.registeredUids ?? []);
  for (let i = from; i < size; i++) {
    const { entry } = (await ledger.get(i)).envelope;
    const digest = entry.data["specDigest"];
    if (entry.kind !== "ModelVersionRegistered" || typeof digest !== "string") continue;
    const key = `${entry.subject.namespace ?? ""}/${entry.subject.name}`;
    const uid = entry.subject.uid;
    const recreated = uid !== undefined && uids.has(key) && uids.get(key) !== uid;
    if (digests.has(key) && !recreated) continue;
    digests.set(key, digest);
    if (uid !== undefined) uids.set(key, uid);
  }
  return { tip: { size, root: await ledger.root(size) }, recordedSpecDigests: digests, registeredUids: uids };
}
