// `artifact verify | fetch | digest`: the check where the model's bytes arrive. In a Pod these
// run as init containers; `--termination-message-path` writes the outcome where the kubelet
// reads a container's termination message, so the operator learns expected and actual digest.
import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
// Not the api barrel, which compiles every CRD schema at load.
import { DIGEST_PATTERN } from "../../api/schema-dsl.ts";
// The modules themselves, not the artifact barrel: `artifact verify` (the pvc:// init container)
// does not load the fetcher's HTTPS and TLS modules; `artifact fetch` loads them when it runs.
import { manifestDigest, sortedManifest, type FileDigest } from "../../artifact/manifest.ts";
import { ArtifactFetchFailed } from "../../artifact/source.ts";
import { ArtifactDigestMismatch, ArtifactManifestMismatch, verifyDirectory } from "../../artifact/verify.ts";
import { ArtifactWalkFailed, modelFiles } from "../../artifact/walk.ts";
import { CheckFailedError, CliInputError, parseAtLeast, printResult } from "../output.ts";

/** The kubelet keeps at most 4096 bytes of a termination message. */
const TERMINATION_MESSAGE_MAX = 4096;

function parseDigest(value: string): string {
  if (!new RegExp(DIGEST_PATTERN).test(value))
    throw new CliInputError(`--digest: ${JSON.stringify(value)} is not sha256:<64 hex>`);
  return value;
}

function isFileDigest(v: unknown): v is FileDigest {
  return (
    typeof v === "object" &&
    v !== null &&
    "path" in v &&
    typeof v.path === "string" &&
    "sha256" in v &&
    typeof v.sha256 === "string"
  );
}

/** `--manifest`: the per-file digests a signature covers, as `artifact digest` prints them. */
async function readManifest(path: string | undefined): Promise<FileDigest[] | undefined> {
  if (path === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (e: unknown) {
    throw new CliInputError(`--manifest ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  const files: unknown =
    typeof value === "object" && value !== null && "files" in value ? value.files : value;
  if (!Array.isArray(files) || !files.every(isFileDigest))
    throw new CliInputError(`--manifest ${path}: expected {"files": [{"path", "sha256"}, …]}`);
  return files;
}

async function terminationMessage(path: string | undefined, outcome: Record<string, unknown>): Promise<void> {
  if (path === undefined) return;
  let text = JSON.stringify(outcome);
  if (Buffer.byteLength(text) > TERMINATION_MESSAGE_MAX)
    text = JSON.stringify({ ...outcome, error: undefined });
  await writeFile(path, text);
}

/** Runs a check, writing its outcome for the kubelet; mismatches become exit 1, bad input exit 2. */
async function checked<T extends { digest: string }>(
  digest: string,
  messagePath: string | undefined,
  run: () => Promise<T>,
  alsoFailed: ReadonlyArray<abstract new (...args: never[]) => Error> = [],
): Promise<T> {
  try {
    const result = await run();
    await terminationMessage(messagePath, { outcome: "Verified", expected: digest, actual: result.digest });
    return result;
  } catch (e: unknown) {
    const mismatch = e instanceof ArtifactDigestMismatch ? e : undefined;
    await terminationMessage(messagePath, {
      outcome: "Failed",
      expected: digest,
      actual: mismatch?.actual ?? null,
      ...(mismatch?.difference === undefined ? {} : { file: mismatch.difference.path }),
      error: e instanceof Error ? e.message : String(e),
    });
    const failed = [
      ArtifactDigestMismatch,
      ArtifactManifestMismatch,
      ArtifactFetchFailed,
      ArtifactWalkFailed,
      ...alsoFailed,
    ];
    if (failed.some((type) => e instanceof type))
      throw new CheckFailedError(e instanceof Error ? e.message : String(e), { cause: e });
    throw e;
  }
}

interface VerifyOpts {
  path: string;
  digest: string;
  manifest?: string;
  terminationMessagePath?: string;
}

interface FetchOpts {
  uri: string;
  digest: string;
  dest: string;
  manifest?: string;
  s3Endpoint?: string;
  hfEndpoint?: string;
  retries: number;
  terminationMessagePath?: string;
}

function bearerToken(uri: string): string | undefined {
  const token = uri.startsWith("hf://")
    ? (process.env["HF_TOKEN"] ?? process.env["MODELCHAIN_ARTIFACT_TOKEN"])
    : process.env["MODELCHAIN_ARTIFACT_TOKEN"];
  return token === undefined || token === "" ? undefined : token;
}

const MESSAGE_HELP = "also write the outcome as JSON here (a container's terminationMessagePath)";

export function registerArtifactCommands(program: Command): void {
  const artifact = program
    .command("artifact")
    .description("verify or fetch a model artifact against its signed digest");
  artifact
    .command("verify")
    .description(
      "hash a model directory (or file) and check it has the digest; exit 1 naming both digests if not",
    )
    .requiredOption("--path <path>", "model directory or file")
    .requiredOption(
      "--digest <sha256:hex>",
      "expected artifact digest (model-signing's manifest digest)",
      parseDigest,
    )
    .option("--manifest <file>", "expected per-file digests (JSON), to name the first differing file")
    .option("--termination-message-path <file>", MESSAGE_HELP)
    .action(async (opts: VerifyOpts) => {
      const expectedFiles = await readManifest(opts.manifest);
      const result = await checked(opts.digest, opts.terminationMessagePath, () =>
        verifyDirectory(opts.path, opts.digest, expectedFiles),
      );
      printResult({ verified: true, digest: result.digest, files: result.files.length });
    });
  registerFetch(artifact);
  registerDigest(artifact);
}

function registerFetch(artifact: Command): void {
  artifact
    .command("fetch")
    .description(
      "download an artifact (s3://, gs://, https://, hf://) into --dest, in place only if its digest matches",
    )
    .requiredOption("--uri <uri>", "artifact URI")
    .requiredOption("--digest <sha256:hex>", "expected artifact digest", parseDigest)
    .requiredOption("--dest <dir>", "destination directory; must not exist (or already hold this artifact)")
    .option("--manifest <file>", "expected per-file digests (JSON), to name the first differing file")
    .option(
      "--s3-endpoint <url>",
      "S3-compatible endpoint (s3://, gs://); default $AWS_ENDPOINT_URL_S3, else AWS, or storage.googleapis.com for gs://",
      process.env["AWS_ENDPOINT_URL_S3"] ?? process.env["AWS_ENDPOINT_URL"],
    )
    .option("--hf-endpoint <url>", "Hugging Face Hub endpoint for hf:// URIs", process.env["HF_ENDPOINT"])
    .option(
      "--retries <n>",
      "tries per object on transient errors",
      parseAtLeast("--retries", 1, "one try at least"),
      6,
    )
    .option("--termination-message-path <file>", MESSAGE_HELP)
    .action(async (opts: FetchOpts) => {
      const expectedFiles = await readManifest(opts.manifest);
      const token = bearerToken(opts.uri);
      const { fetchArtifact, ArtifactDestinationExists } = await import("../../artifact/fetch.ts");
      const result = await checked(
        opts.digest,
        opts.terminationMessagePath,
        () =>
          fetchArtifact({
            uri: opts.uri,
            digest: opts.digest,
            dest: opts.dest,
            ...(expectedFiles === undefined ? {} : { expectedFiles }),
            ...(opts.s3Endpoint === undefined ? {} : { s3Endpoint: opts.s3Endpoint }),
            ...(opts.hfEndpoint === undefined ? {} : { hfEndpoint: opts.hfEndpoint }),
            ...(token === undefined ? {} : { bearerToken: token }),
            retry: {
              attempts: opts.retries,
              policy: { baseMs: 200, maxMs: 10_000 },
              onRetry: (path, attempt, error) =>
                process.stderr.write(
                  `modelchain: ${path}: try ${attempt} failed (${error.message}); retrying\n`,
                ),
            },
          }),
        [ArtifactDestinationExists],
      );
      printResult({
        verified: true,
        digest: result.digest,
        files: result.files.length,
        bytes: result.bytes,
        fetched: result.fetched,
        dest: opts.dest,
      });
    });
}

function registerDigest(artifact: Command): void {
  artifact
    .command("digest")
    .description("print a model directory's (or file's) digest and per-file manifest")
    .requiredOption("--path <path>", "model directory or file")
    .action(async (opts: { path: string }) => {
      const files = sortedManifest(await modelFiles(opts.path));
      printResult({ digest: manifestDigest(files), files });
    });
}
