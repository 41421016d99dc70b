// The api component's public face: CRD types, schemas, validation and digests. Pure.
export * from "./group.ts";
export type * from "./types.ts";
export {
  CRD_SOURCES,
  customResourceDefinition,
  DIGEST_PATTERN,
  ARTIFACT_URI_PATTERN,
  type CrdSource,
  type Schema,
} from "./schemas.ts";
export {
  validateModelVersion,
  validateModelDeployment,
  validateModelTrustPolicy,
  describeErrors,
  type FieldError,
  type Validation,
} from "./validate.ts";
export { specDigest, signedPayload, unsignedSpec, canonicalDigest } from "./digest.ts";
export { unsignableValues } from "./signable.ts";
export { namespaceMatches } from "./selector.ts";
export { setCondition, findCondition } from "./conditions.ts";
export { requiredChecksOf, policyMode, DEFAULT_MAX_LINEAGE_DEPTH } from "./defaults.ts";
export { crdFiles } from "./crd-yaml.ts";
export { parseArtifactUri, ArtifactUriError, type ArtifactLocation } from "./artifact-uri.ts";
export { isPinnedByDigest } from "./image-reference.ts";
export { imageVolumeProblems, type ImageVolumeLike } from "./image-volumes.ts";
