// The artifact component's public face: the directory digest rule, verifying a model on disk,
// and fetching one from a store into a directory, checked before it is in place.
export {
  manifestDigest,
  firstDifference,
  sortedManifest,
  DEFAULT_IGNORED_PATHS,
  ManifestDigestError,
  type FileDigest,
} from "./manifest.ts";
export { modelFiles, fileSha256, ArtifactWalkFailed } from "./walk.ts";
export {
  verifyDirectory,
  checkFiles,
  ArtifactDigestMismatch,
  ArtifactManifestMismatch,
  type Difference,
  type VerifiedArtifact,
} from "./verify.ts";
export {
  fetchArtifact,
  sourceFor,
  ArtifactDestinationExists,
  HUB_ENDPOINT,
  type FetchOptions,
  type FetchResult,
} from "./fetch.ts";
export { DEFAULT_RETRY, downloadObject, type RetryOptions } from "./download.ts";
export {
  ArtifactFetchFailed,
  isTransientStatus,
  type ArtifactSource,
  type OpenedRange,
  type RemoteObject,
} from "./source.ts";
