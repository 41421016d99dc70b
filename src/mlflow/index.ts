// The mlflow component's public face: reading registered model versions from an MLflow tracking
// server (or an export of its answers) and making them ModelVersions.
export { MlflowHttp, MlflowRequestFailed, authFromEnvironment, displayUri, type MlflowAuth } from "./http.ts";
export {
  trackingServer,
  exportDirectory,
  recording,
  ExportLayoutInvalid,
  type MlflowRegistry,
} from "./registry.ts";
export {
  importOne,
  allVersions,
  versionUri,
  MlflowImportFailed,
  ArtifactChangedSinceRegistration,
  type ImportRequest,
  type ImportOptions,
} from "./import.ts";
export { ArtifactStoreMissing } from "./artifact.ts";
export { MlflowSourceUnsupported } from "./location.ts";
export { MlflowAnswerInvalid } from "./records.ts";
export { kubernetesName } from "./names.ts";
export {
  TAG_PARENT,
  TAG_DIGEST,
  TAG_DATASET_DIGEST,
  ANNOTATION_VERSION,
  ANNOTATION_SOURCE,
  ANNOTATION_METRICS,
  type Imported,
} from "./model-version.ts";
