// An artifact in S3, an S3-compatible store (an endpoint override, path-style addressing), or
// Google Cloud Storage through its S3-interoperable XML API (endpoint storage.googleapis.com,
// HMAC keys in the same variables). A key ending in "/" (or the empty key) is a directory: every
// object under that prefix. Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE mounted from a Secret).
import { GetObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { posix } from "node:path";
import { Readable } from "node:stream";
import {
  ArtifactFetchFailed,
  isTransientStatus,
  type ArtifactSource,
  type OpenedRange,
  type RemoteObject,
} from "./source.ts";

export const GCS_XML_ENDPOINT = "https://storage.googleapis.com";

export interface S3SourceOptions {
  bucket: string;
  key: string;
  endpoint?: string;
  region?: string;
  /** For a gs:// URI: what the error messages call the object. */
  scheme?: "s3" | "gs";
}

function failure(what: string, e: unknown): ArtifactFetchFailed {
  if (e instanceof ArtifactFetchFailed) return e;
  if (e instanceof S3ServiceException) {
    const status = e.$metadata.httpStatusCode ?? 0;
    return new ArtifactFetchFailed(`${what}: ${status} ${e.name}`, isTransientStatus(status), status, {
      cause: e,
    });
  }
  // Not an answer from the store: the connection failed.
  const message = e instanceof Error ? e.message : String(e);
  return new ArtifactFetchFailed(`${what}: ${message}`, true, undefined, { cause: e });
}

function contentRange(value: string | undefined): { start: number; total: number } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-\d+\/(\d+)$/.exec(value);
  return m === null ? undefined : { start: Number(m[1]), total: Number(m[2]) };
}

/** A listed key as a path below the destination; keys that would escape it are refused. */
function relativePath(uri: string, prefix: string, key: string): string {
  const path = key.slice(prefix.length);
  if (path.split("/").some((p) => p === "" || p === "." || p === ".."))
    throw new ArtifactFetchFailed(
      `${uri}: object key ${JSON.stringify(key)} is not a plain relative path`,
      false,
    );
  return path;
}

export function s3Source(options: S3SourceOptions): ArtifactSource {
  const scheme = options.scheme ?? "s3";
  const endpoint = options.endpoint ?? (scheme === "gs" ? GCS_XML_ENDPOINT : undefined);
  const client = new S3Client({
    region: options.region ?? process.env["AWS_REGION"] ?? (scheme === "gs" ? "auto" : "us-east-1"),
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    // Retries are ours (with resume); the SDK's own would restart a body from byte 0.
    maxAttempts: 1,
  });
  const { bucket, key } = options;
  const uri = (k: string): string => `${scheme}://${bucket}/${k}`;

  async function listPrefix(): Promise<RemoteObject[]> {
    const objects: RemoteObject[] = [];
    let token: string | undefined;
    do {
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token }))
        .catch((e: unknown) => Promise.reject(failure(`list ${uri(key)}`, e)));
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined && !o.Key.endsWith("/"))
          objects.push({ path: relativePath(uri(key), key, o.Key), locator: o.Key });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    if (objects.length === 0)
      throw new ArtifactFetchFailed(`${uri(key)}: no objects under this prefix`, false);
    return objects;
  }

  async function open(
    object: RemoteObject,
    offset: number,
    validator: string | undefined,
  ): Promise<OpenedRange> {
    const ranged = offset > 0;
    try {
      const res = await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: object.locator,
          ...(ranged ? { Range: `bytes=${offset}-` } : {}),
          ...(ranged && validator !== undefined ? { IfMatch: validator } : {}),
        }),
      );
      if (!(res.Body instanceof Readable))
        throw new ArtifactFetchFailed(`get ${uri(object.locator)}: no body`, true);
      const partial = ranged ? contentRange(res.ContentRange) : undefined;
      const total = partial?.total ?? res.ContentLength;
      return {
        body: res.Body,
        start: partial?.start ?? 0,
        ...(total === undefined ? {} : { total }),
        ...(res.ETag === undefined ? {} : { validator: res.ETag }),
      };
    } catch (e: unknown) {
      const f = failure(`get ${uri(object.locator)}`, e);
      // 412: the object changed since the first range; 416: it shrank. Either way, from the start.
      if (ranged && (f.status === 412 || f.status === 416)) return open(object, 0, undefined);
      throw f;
    }
  }

  return {
    list: () =>
      key === "" || key.endsWith("/")
        ? listPrefix()
        : Promise.resolve([{ path: posix.basename(key), locator: key }]),
    open,
  };
}
