// The bytes of an imported version, hashed by the project's one directory-digest rule
// (src/artifact: model-signing's), wherever MLflow keeps them: a directory on this disk (a local
// artifact store, an export), or a store the files are first downloaded from (the tracking
// server's artifact proxy, S3, GCS) — into a temporary folder, or the export being saved.
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_RETRY,
  downloadObject,
  manifestDigest,
  modelFiles,
  sourceFor,
  type ArtifactSource,
  type FileDigest,
} from "../artifact/index.ts";
import type { Store } from "./location.ts";
import { savedArtifactDir, type MlflowRegistry } from "./registry.ts";

export interface HashedArtifact {
  digest: string;
  files: FileDigest[];
  sizeBytes: number;
  /** The MLflow flavors its MLmodel file names (`sklearn` → its `sklearn_version`), if it has one. */
  flavors?: Record<string, string | undefined>;
}

export interface StoreOptions {
  /** Where --save writes proxied files (the export layout's artifacts/). */
  saveDir?: string;
  /** S3-compatible endpoint (MLflow's MLFLOW_S3_ENDPOINT_URL). */
  s3Endpoint?: string;
}

export class ArtifactStoreMissing extends Error {
  override readonly name = "ArtifactStoreMissing";
}

async function sizeOf(root: string, files: readonly FileDigest[], single: boolean): Promise<number> {
  let total = 0;
  for (const f of files) total += (await stat(single ? root : join(root, f.path))).size;
  return total;
}

/** MLmodel's `flavors:` keys, each with its `<flavor>_version` when it names one. */
async function flavorsOf(root: string): Promise<Record<string, string | undefined> | undefined> {
  const text = await readFile(join(root, "MLmodel"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const doc: unknown = parseYaml(text);
  const flavors = typeof doc === "object" && doc !== null && "flavors" in doc ? doc.flavors : undefined;
  if (typeof flavors !== "object" || flavors === null) return undefined;
  return Object.fromEntries(
    Object.entries(flavors).map(([name, conf]: [string, unknown]) => {
      const fields: Map<string, unknown> = new Map(
        typeof conf === "object" && conf !== null ? Object.entries(conf) : [],
      );
      const version = fields.get(`${name}_version`);
      return [name, typeof version === "string" ? version : undefined];
    }),
  );
}

async function hashDirectory(path: string): Promise<HashedArtifact> {
  const kind = await stat(path).catch(() => undefined);
  if (kind === undefined)
    throw new ArtifactStoreMissing(`mlflow: artifact ${JSON.stringify(path)} does not exist`);
  const files = await modelFiles(path);
  const flavors = kind.isDirectory() ? await flavorsOf(path) : undefined;
  return {
    digest: manifestDigest(files),
    files,
    sizeBytes: await sizeOf(path, files, !kind.isDirectory()),
    ...(flavors === undefined ? {} : { flavors }),
  };
}

async function download(source: ArtifactSource, into: string): Promise<void> {
  const objects = await source.list();
  if (objects.length === 0)
    throw new ArtifactStoreMissing(`mlflow: artifact ${into}: the store lists no files`);
  for (const object of objects) await downloadObject(source, object, join(into, object.path), DEFAULT_RETRY);
}

/** Downloads into a fresh folder; hashes it; keeps it at `keep` (replacing what was there) or removes it. */
async function downloadAndHash(source: ArtifactSource, keep: string | undefined): Promise<HashedArtifact> {
  const parent = keep === undefined ? tmpdir() : dirname(keep);
  await mkdir(parent, { recursive: true });
  const work = await mkdtemp(
    join(parent, `.${keep === undefined ? "mlflow-import" : basename(keep)}.partial-`),
  );
  try {
    await download(source, work);
    const hashed = await hashDirectory(work);
    if (keep !== undefined) {
      await rm(keep, { recursive: true, force: true });
      await rename(work, keep);
    }
    return hashed;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function hashStore(
  store: Store,
  registry: MlflowRegistry,
  options: StoreOptions,
): Promise<HashedArtifact> {
  switch (store.kind) {
    case "local":
      return hashDirectory(store.path);
    case "proxy": {
      const access = registry.proxy(store.path);
      if ("dir" in access) return hashDirectory(access.dir);
      const keep = options.saveDir === undefined ? undefined : savedArtifactDir(options.saveDir, store.path);
      return downloadAndHash(access.source, keep);
    }
    case "bucket": {
      const uri = store.uri.endsWith("/") ? store.uri : `${store.uri}/`;
      const source = await sourceFor({
        uri,
        ...(options.s3Endpoint === undefined ? {} : { s3Endpoint: options.s3Endpoint }),
      });
      return downloadAndHash(source, undefined);
    }
  }
}
