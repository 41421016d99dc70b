// TypeScript types of the modelchain.io/v1alpha1 resources. The CRD schemas (schemas.ts) are
// the other half; test/api/drift.test.ts proves the two name exactly the same fields.
import type {
  V1Affinity as Affinity,
  V1EnvVar as EnvVar,
  V1PodSecurityContext as PodSecurityContext,
  V1Probe as Probe,
  V1ResourceRequirements as ResourceRequirements,
  V1SecurityContext as SecurityContext,
  V1Toleration as Toleration,
  V1TopologySpreadConstraint as TopologySpreadConstraint,
  V1Volume as Volume,
  V1VolumeMount as VolumeMount,
} from "@kubernetes/client-node";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
}

/** metav1.Condition */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** Where the ledger recorded an object's latest event. */
export interface LedgerReference {
  index: number;
  leafHash: string;
}

export interface Artifact {
  /** oci://, s3://, gs://, https://, hf:// or pvc://; MLflow's models:/NAME/VERSION or runs:/ID/PATH (never delivered) */
  uri: string;
  /** sha256:<64 hex> of the artifact bytes. */
  digest: string;
  format?: string;
  sizeBytes?: number;
}

export interface ParentRef {
  name: string;
  /** Defaults to the child's namespace. */
  namespace?: string;
  /**
   * specDigest() of the parent's spec when the child was signed (`modelchain sign --parent`
   * fills it in). The child's signature covers it, so replacing the parent by another
   * ModelVersion of the same name fails the child; a parent without one fails closed.
   */
  specDigest?: string;
}

export interface Dataset {
  name: string;
  uri: string;
  /** sha256:<64 hex>; a dataset without one is not pinned and fails lineage. */
  digest?: string;
  license?: string;
}

export type TrainingParameter = string | number | boolean;

export interface Training {
  runId?: string;
  codeRepository?: string;
  codeCommit?: string;
  framework?: string;
  /** Hyperparameters as written: strings, numbers and booleans (src/api/parameters.ts). */
  parameters?: Record<string, TrainingParameter>;
  startedAt?: string;
  finishedAt?: string;
}

/** A key of a ConfigMap or Secret in the ModelVersion's namespace. */
export interface ObjectKeyRef {
  name: string;
  key: string;
}

/**
 * One signature of a ModelVersion. `ed25519` (the default type): modelchain's own, with keyId
 * and signature. `oms`: an OpenSSF Model Signing bundle over the artifact, given by exactly one
 * of bundle, configMapKeyRef, secretKeyRef (schemas-signing.ts states the shape rule).
 */
export interface Signature {
  type?: "ed25519" | "oms";
  keyId?: string;
  /** base64 ed25519 signature over the canonical JSON of the spec without `signatures`. */
  signature?: string;
  /** The bundle JSON inline. */
  bundle?: string;
  configMapKeyRef?: ObjectKeyRef;
  secretKeyRef?: ObjectKeyRef;
}

/** What `modelchain sign` writes. */
export interface Ed25519Signature {
  keyId: string;
  signature: string;
}

export interface Revocation {
  reason: string;
  revokedAt?: string;
}

/**
 * The signed act that lifts a recorded revocation (`modelchain reinstate`): an ed25519 signature,
 * by a key a ModelTrustPolicy trusts for reinstatement, over reinstatementPayload() (the
 * ModelVersion's namespace, name and spec digest, the ledger index of the revocation it lifts,
 * and the reason). Bound to that one revocation, it cannot lift a later one.
 */
export interface Reinstatement {
  reason: string;
  /** Ledger index of the ModelVersionRevoked entry this lifts (status.revocation.ledgerIndex). */
  revocationIndex: number;
  keyId: string;
  signature: string;
}

export interface ModelVersionSpec {
  model: string;
  version: string;
  artifact: Artifact;
  parents?: ParentRef[];
  datasets?: Dataset[];
  training?: Training;
  signatures?: Signature[];
  revoked?: Revocation;
  reinstated?: Reinstatement;
}

/** The revocation in force, as the ledger recorded it. */
export interface RevocationStatus {
  ledgerIndex: number;
  reason: string;
  artifactDigest?: string;
}

export interface ModelVersionStatus {
  observedGeneration?: number;
  revocation?: RevocationStatus;
  conditions?: Condition[];
  specDigest?: string;
  ledger?: LedgerReference;
  lineageDepth?: number;
}

export interface ModelVersion {
  apiVersion: string;
  kind: "ModelVersion";
  metadata: ObjectMeta;
  spec: ModelVersionSpec;
  status?: ModelVersionStatus;
}

/** The upstream Kubernetes shapes a ModelDeployment embeds (their CRD schemas: kube-fields.ts). */
export type {
  Affinity,
  EnvVar,
  PodSecurityContext,
  Probe,
  ResourceRequirements,
  SecurityContext,
  Toleration,
  TopologySpreadConstraint,
  Volume,
  VolumeMount,
};

export interface ConfigMapRef {
  name: string;
}

/** The inference server container. */
export interface Serving {
  args?: string[];
  /** valueFrom references are recorded as references; a literal value as its SHA-256. */
  env?: EnvVar[];
  resources?: ResourceRequirements;
  configMapRefs?: ConfigMapRef[];
  port?: number;
  /** Where the model is mounted in the server container (and MODEL_PATH); /models unless set. */
  modelPath?: string;
  /** Mounts of podTemplate.volumes; not of the operator's volumes, not at or under modelPath. */
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
}

/** How the Pod gets the ModelVersion's artifact. */
export interface ArtifactDelivery {
  /**
   * A Secret in the namespace whose keys become the fetch init container's environment
   * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, HF_TOKEN,
   * MODELCHAIN_ARTIFACT_TOKEN): only that container sees them.
   */
  credentialsSecret?: string;
}

export interface PodTemplateOverrides {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  priorityClassName?: string;
  tolerations?: Toleration[];
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  runtimeClassName?: string;
  securityContext?: PodSecurityContext;
  /** Besides the model and ConfigMap volumes; "model" and "config-*" are the operator's names. */
  volumes?: Volume[];
}

/** The Service in front of the serving Pods, owned by the ModelDeployment. */
export interface ServiceSpec {
  port: number;
  /** The container port `http` when serving.port is set, else `port`. */
  targetPort?: number | string;
  type?: "ClusterIP" | "NodePort" | "LoadBalancer";
}

export interface ModelDeploymentSpec {
  modelVersion: string;
  /** Must be pinned by digest (name@sha256:<64 hex>); the webhook denies anything else. */
  image: string;
  replicas?: number;
  serving?: Serving;
  podTemplate?: PodTemplateOverrides;
  artifact?: ArtifactDelivery;
  service?: ServiceSpec;
  /** Seconds before a rollout that makes no progress is recorded as failed. */
  progressDeadlineSeconds?: number;
}

export interface RolloutRecord {
  revision: number;
  /** Identity of what was rolled out: digest of image, serving config and model spec digest. */
  templateHash: string;
  image: string;
  configHash: string;
  phase: "Started" | "Completed" | "Failed";
  ledgerIndex?: number;
  startedAt: string;
  finishedAt?: string;
}

export interface ModelDeploymentStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  currentRevision?: number;
  specDigest?: string;
  configHash?: string;
  rollouts?: RolloutRecord[];
  ledger?: LedgerReference;
}

export interface ModelDeployment {
  apiVersion: string;
  kind: "ModelDeployment";
  metadata: ObjectMeta;
  spec: ModelDeploymentSpec;
  status?: ModelDeploymentStatus;
}

export interface TrustedKey {
  keyId: string;
  /** PEM (SPKI) ed25519 public key. */
  publicKey: string;
}

/** A key of a ConfigMap in a given namespace (trust policies are cluster-scoped). */
export interface NamespacedKeyRef {
  namespace: string;
  name: string;
  key: string;
}

/** One signer a keyless root trusts: exactly one issuer field and one subject field. */
export interface KeylessIdentity {
  issuer?: string;
  issuerRegExp?: string;
  /** The certificate's subject alternative name (email or URI). */
  subject?: string;
  subjectRegExp?: string;
}

/** A root that verifies OMS bundles: exactly one of publicKey, certificateAuthority, keyless. */
export interface TrustRoot {
  name: string;
  /** PEM (SPKI): ECDSA P-256/P-384, ed25519 or RSA. */
  publicKey?: string;
  /** PEM CA certificates: the root and its intermediates. */
  certificateAuthority?: { certificates: string };
  keyless?: { trustedRoot: { configMapKeyRef: NamespacedKeyRef }; identities: KeylessIdentity[] };
}

export interface RequiredChecks {
  signature?: boolean;
  datasetsPinned?: boolean;
  parentsVerified?: boolean;
  recordedInLedger?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export type EnforcementMode = "enforce" | "warn" | "audit";

export interface ModelTrustPolicySpec {
  trustedKeys?: TrustedKey[];
  trustRoots?: TrustRoot[];
  /** Distinct signers a ModelVersion needs (default 1). */
  requiredSigners?: number;
  require?: RequiredChecks;
  mode?: EnforcementMode;
  namespaceSelector?: LabelSelector;
  maxLineageDepth?: number;
  revocation?: RevocationPolicy;
}

/** An artifact digest revoked for good: every ModelVersion with it, wherever the ledger is followed. */
export interface RevokedArtifact {
  digest: string;
  reason: string;
}

export interface RevocationPolicy {
  scaleToZero?: boolean;
  /** Recorded as ArtifactRevoked; removing one from the list does not lift it. */
  artifacts?: RevokedArtifact[];
  /** Keys whose signed `modelchain reinstate` lifts a recorded revocation. */
  reinstatementKeys?: TrustedKey[];
}

export interface ModelTrustPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ModelTrustPolicy {
  apiVersion: string;
  kind: "ModelTrustPolicy";
  metadata: ObjectMeta;
  spec: ModelTrustPolicySpec;
  status?: ModelTrustPolicyStatus;
}
