// `artifact fetch`: the objects of an artifact streamed into a temporary directory beside the
// destination while they are hashed, and renamed to the destination in one step only when the
// manifest digest is the expected one. On any failure the temporary directory is removed, so
// the destination either holds the verified artifact or does not exist.
import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
// The one module, not the api barrel: that compiles every CRD schema at load (≈ 60 MiB of RSS in
// the init container).
import { parseArtifactUri } from "../api/artifact-uri.ts";
import { downloadObject, DEFAULT_RETRY, type RetryOptions } from "./download.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { Backoff } from "../backoff/index.ts";
import { hubSource } from "./hub-source.ts";
import { httpsSource } from "./https-source.ts";
import { isIgnoredPath, type FileDigest } from "./manifest.ts";
import { ArtifactFetchFailed, type ArtifactSource, type RemoteObject } from "./source.ts";
import { ArtifactDigestMismatch, checkFiles, verifyDirectory, type VerifiedArtifact } from "./verify.ts";

export const HUB_ENDPOINT = "https://huggingface.co";

export interface FetchOptions {
  uri: string;
  digest: string;
  dest: string;
  expectedFiles?: readonly FileDigest[];
  /** S3-compatible store (or GCS XML API) endpoint. */
  s3Endpoint?: string;
  hfEndpoint?: string;
  /** Bearer token for https:// and hf:// (HF_TOKEN for the Hub); never logged. */
  bearerToken?: string;
  retry?: RetryOptions;
}

export interface FetchResult extends VerifiedArtifact {
  /** False when the destination already held the verified artifact (an init container rerun). */
  fetched: boolean;
  bytes: number;
}

export class ArtifactDestinationExists extends Error {
  override readonly name = "ArtifactDestinationExists";
}

/** The store of `options.uri`; the S3 SDK is loaded only for s3:// and gs:// (it is most of the process's memory). */
export async function sourceFor(
  options: Pick<FetchOptions, "uri" | "s3Endpoint" | "hfEndpoint" | "bearerToken">,
): Promise<ArtifactSource> {
  const where = parseArtifactUri(options.uri);
  const token = options.bearerToken === undefined ? {} : { bearerToken: options.bearerToken };
  switch (where.scheme) {
    case "s3":
    case "gs":
      return (await import("./s3-source.ts")).s3Source({
        ...where,
        ...(options.s3Endpoint === undefined ? {} : { endpoint: options.s3Endpoint }),
      });
    case "https":
      return httpsSource({ url: where.url, ...token });
    case "hf":
      return hubSource({ endpoint: options.hfEndpoint ?? HUB_ENDPOINT, ...where, ...token });
    default:
      throw new ArtifactFetchFailed(
        `${options.uri}: ${where.scheme}:// artifacts are not fetched (the Pod mounts them)`,
        false,
      );
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (e: unknown) => {
      if (e instanceof Error && "code" in e && e.code === "ENOENT") return false;
      throw e;
    },
  );
}

/** Leftovers of a fetch that was killed (an init container's OOM kill or eviction). */
async function removeStalePartials(parent: string, stem: string): Promise<void> {
  for (const name of await readdir(parent))
    if (name.startsWith(`${stem}.partial-`)) await rm(join(parent, name), { recursive: true, force: true });
}

/** The store's listing, retried as a download is; paths model-signing ignores are not fetched. */
async function listObjects(
  source: ArtifactSource,
  uri: string,
  retry: RetryOptions,
): Promise<RemoteObject[]> {
  const backoff = new Backoff(retry.policy);
  for (let attempt = 1; ; attempt++) {
    try {
      const objects = (await source.list()).filter((o) => !isIgnoredPath(o.path));
      if (objects.length === 0)
        throw new ArtifactFetchFailed(`${uri}: nothing to fetch but ignored paths`, false);
      return objects;
    } catch (e: unknown) {
      if (!(e instanceof ArtifactFetchFailed && e.transient) || attempt >= retry.attempts) throw e;
      retry.onRetry?.("(listing)", attempt, e);
      await sleep(backoff.next());
    }
  }
}

interface Downloaded {
  files: FileDigest[];
  bytes: number;
  /** Files whose bytes are not the SHA-256 the store listed for them. */
  unlike: { path: string; listed: string; actual: string }[];
}

async function downloadAll(
  source: ArtifactSource,
  uri: string,
  work: string,
  retry: RetryOptions,
): Promise<Downloaded> {
  const got: Downloaded = { files: [], bytes: 0, unlike: [] };
  for (const object of await listObjects(source, uri, retry)) {
    const file = await downloadObject(source, object, join(work, object.path), retry);
    got.files.push({ path: object.path, sha256: file.sha256 });
    got.bytes += file.bytes;
    if (object.listedSha256 !== undefined && object.listedSha256 !== file.sha256)
      got.unlike.push({ path: object.path, listed: object.listedSha256, actual: file.sha256 });
  }
  return got;
}

/** The digest decides; a file unlike the store's own listing is named when no manifest names one. */
function verdict(uri: string, got: Downloaded, digest: string, expectedFiles?: readonly FileDigest[]) {
  try {
    return checkFiles(uri, got.files, digest, expectedFiles);
  } catch (e: unknown) {
    const first = got.unlike[0];
    if (!(e instanceof ArtifactDigestMismatch) || e.difference !== undefined || first === undefined) throw e;
    const hint = `; file ${JSON.stringify(first.path)} has sha256 ${first.actual}, where the store lists ${first.listed}`;
    throw new ArtifactDigestMismatch(uri, digest, e.actual, undefined, hint);
  }
}

export async function fetchArtifact(options: FetchOptions): Promise<FetchResult> {
  const { dest, digest } = options;
  const source = await sourceFor(options);
  if (await exists(dest)) {
    const present = await verifyDirectory(dest, digest, options.expectedFiles).catch((e: unknown) => {
      throw new ArtifactDestinationExists(
        `artifact fetch: ${JSON.stringify(dest)} exists and is not the expected artifact (${e instanceof Error ? e.message : String(e)}); refusing to overwrite it`,
      );
    });
    return { ...present, fetched: false, bytes: 0 };
  }
  const parent = dirname(dest);
  const stem = `.${basename(dest)}`;
  await mkdir(parent, { recursive: true });
  await removeStalePartials(parent, stem);
  const work = await mkdtemp(join(parent, `${stem}.partial-`));
  try {
    const got = await downloadAll(source, options.uri, work, options.retry ?? DEFAULT_RETRY);
    const verified = verdict(options.uri, got, digest, options.expectedFiles);
    await rename(work, dest);
    return { ...verified, fetched: true, bytes: got.bytes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
