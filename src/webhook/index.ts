// The webhook component's public face: the pure decision, the HTTPS server, the cache and its
// sources, the denial recorder and the ValidatingWebhookConfiguration generator.
export {
  admissionDecision,
  DECISION_REASONS,
  type AdmissionDecision,
  type DecisionReason,
  type Finding,
} from "./decision.ts";
export {
  parseAdmissionReview,
  admissionResponse,
  ReviewInputError,
  REVIEW_API_VERSION,
  type AdmissionRequest,
  type Operation,
} from "./review.ts";
export type {
  AdmissionState,
  EnforcementMode,
  LedgerTip,
  LineageCheck,
  LineageVerdict,
  ModelVersionView,
  TrustPolicyView,
} from "./state.ts";
export { subjectOf, MODEL_VERSION_LABEL, type Subject } from "./subjects.ts";
export { isPinnedByDigest } from "./images.ts";
export {
  startWebhookServer,
  MAX_REVIEW_BYTES,
  WEBHOOK_LIMITS,
  WebhookLimitsInvalid,
  type Reviewer,
  type WebhookServer,
  type WebhookServerOptions,
} from "./server.ts";
export { loadTls, watchTls, TlsLoadFailed } from "./tls.ts";
export {
  VerifiedCache,
  type ModelVocabulary,
  type LedgerFacts,
  type MaterialKey,
  type MaterialLookup,
} from "./cache.ts";
export { materialObject, TRUST_MATERIAL_LABEL, type MaterialObject } from "./material.ts";
export { CacheLookupFailed, SingleFlight, withDeadline } from "./lookup.ts";
export { createReviewer, type MissLookup, type FindingSink, type ReviewerOptions } from "./reviewer.ts";
export { DenialRecorder, DenialRecordFailed, denialEntry, denialKey } from "./denials.ts";
export {
  readManifestFile,
  manifestFiles,
  loadManifests,
  loadModelVersions,
  readLedgerFacts,
  ManifestReadFailed,
  type ManifestObject,
} from "./source-dir.ts";
export {
  parseYamlDocuments,
  readYamlDocuments,
  readYamlText,
  yamlLimits,
  YamlInputRefused,
  DEFAULT_YAML_MAX_BYTES,
  type YamlDocument,
  type YamlLimits,
} from "./yaml-input.ts";
export { startKubeSource, type KubeSource } from "./source-kube.ts";
export { InformerFailed } from "../kube/index.ts";
export {
  parseSource,
  loadDirCache,
  startWebhookService,
  SourceSpecError,
  DirSourceInvalid,
  type Source,
  type WebhookService,
  type WebhookServiceOptions,
} from "./service.ts";
export {
  validatingWebhookConfiguration,
  DEFAULT_TIMEOUT_SECONDS,
  type FailurePolicy,
  type WebhookManifestOptions,
} from "./manifest.ts";
export { checkManifests, requestFor, CheckInputError, type CheckResult } from "./check.ts";
export { modelchainVocabulary, type CompiledPolicy } from "./vocabulary.ts";
