// What modelchain records: every entry kind with the shape of its `data`, the function that
// builds its idempotency key, and the kind of object it speaks of. These are the ledger's lasting
// contract with auditors: a key format or data shape changes only with a new entry version
// `TRAIL_VERSION`, and test/trail/kinds.test.ts pins every one of them.
import { createHash } from "node:crypto";
import type { Training } from "../api/index.ts";
import type { PatchOp } from "./changes.ts";

/**
 * Version 2 unified the rollout kinds of ModelDeployments and labelled Deployments: both write
 * `images` (container name -> image) where version 1 wrote a single `image` string for
 * ModelDeployments and a map for labelled Deployments; RolloutCompleted/RolloutFailed always
 * carry images and configHash. Keys are unchanged from version 1.
 */
export const TRAIL_VERSION = 2;

export type EventType = "Normal" | "Warning";

/** Container name -> image reference, as the Pod template names them. */
export type Images = Record<string, string>;

export type ArtifactData = { uri: string; digest: string };
export type DatasetData = { name: string; uri: string; digest: string | null };

/**
 * Who made a change, as the API server authenticated them (AdmissionReview `request.userInfo`):
 * never read from the object, so no annotation or field can set it. `serviceAccount` is set when
 * the user name is `system:serviceaccount:<namespace>:<name>`.
 */
export interface Actor {
  username: string;
  uid: string;
  groups: string[];
  serviceAccount: { namespace: string; name: string } | null;
}

/** The operator's entries name the generation of the object they acted on (the join to ChangeAdmitted). */
type Generation = { generation?: number };

/** The `data` of each entry kind. */
export type EntryData = {
  ModelVersionRegistered: {
    specDigest: string;
    model: string;
    version: string;
    artifact: ArtifactData;
    /** `namespace/name` of each parent. */
    parents: string[];
    datasets: DatasetData[];
    training: Training;
    signedBy: string[];
    verified: boolean;
    failedChecks: string[];
  };
  /** `artifactDigest` (optional, since v2): the revocation came from that artifact digest's. */
  ModelVersionRevoked: {
    specDigest: string;
    reason: string;
    revokedAt: string | null;
    artifactDigest?: string;
  };
  /** A signed act lifted the revocation recorded at `revocationIndex`; `signedBy` is its key id. */
  ModelVersionReinstated: {
    specDigest: string;
    reason: string;
    revocationIndex: number;
    signedBy: string;
    policy: string;
  };
  /** Every ModelVersion with this artifact digest is revoked, wherever the ledger is followed. */
  ArtifactRevoked: { digest: string; reason: string; policy: string };
  RolloutStarted: {
    revision: number;
    modelVersion: string;
    modelSpecDigest: string;
    images: Images;
    configHash: string;
    templateHash: string;
  } & Generation & {
      /** The serving config this rollout runs, redacted (env values and ConfigMap data as digests). */
      config?: Record<string, unknown>;
    };
  RolloutCompleted: RolloutOutcomeData;
  RolloutFailed: RolloutOutcomeData;
  ImageDigestChanged: { revision: number; modelVersion: string; from: Images; to: Images } & Generation;
  ConfigChanged: {
    revision: number;
    modelVersion: string;
    from: string;
    to: string;
    /** RFC 6902 from the previous rollout's redacted config; null where that was not recorded. */
    diff?: PatchOp[] | null;
  } & Generation;
  DriftDetected: { pod: string; container: string; admitted: string; running: string };
  RevokedModelInUse: { modelVersion: string; revoked: string; replicas: number | null; scaleToZero: boolean };
  ModelDeploymentDeleted: { modelVersion: string; image: string; lastRevision: number | null };
  /**
   * The bytes a Pod of this rollout received have the signed digest: checked by the artifact
   * init container (`init-container`), or pulled by digest into an image volume (`kubelet`).
   */
  ArtifactVerified: { revision: number; uri: string; digest: string; pod: string; verifiedBy: string };
  /** An artifact init container found other bytes than the signed ones (or could not get them). */
  ArtifactVerificationFailed: {
    revision: number;
    uri: string;
    expected: string;
    /** The digest of what arrived; null when nothing complete arrived (a fetch that failed). */
    actual: string | null;
    /** The first file that differs, when the signed per-file manifest was given. */
    file: string | null;
    pod: string;
    message: string;
  };
  AdmissionDenied: {
    reviewUid: string;
    operation: string;
    reason: string;
    check: string;
    message: string;
    policy: string;
    mode: string;
    enforced: boolean;
    ledgerTip: { size: number; root: string } | null;
    actor?: Actor | null;
  };
  /**
   * A create, update or delete the webhook let through (not a dry run). `generation` is the one
   * the object will have once stored (the API server sets it before validating admission), so
   * the operator's entries for that generation join to it. The API server may still fail the
   * write after admission (a conflict, another webhook): the join is what says it took effect.
   */
  ChangeAdmitted: {
    reviewUid: string;
    operation: string;
    actor: Actor | null;
    generation: number | null;
    /** RFC 6902 from the old to the new object's redacted labels and spec (ConfigMaps: data). */
    diff: PatchOp[];
  };
  /** A file ledger's published checkpoint, anchored in another ledger (the canister). */
  AnchoredCheckpoint: {
    /** The checkpoint's origin line: "modelchain.io/ledger/<key id>". */
    origin: string;
    size: number;
    root: string;
    /** The C2SP checkpoint note exactly as published, with the ledger's signature. */
    checkpoint: string;
  };
};

export type RolloutOutcomeData = {
  revision: number;
  templateHash: string;
  images: Images;
  configHash: string;
};

export type EntryKind = keyof EntryData;

/** One rollout of one workload: `uid` of the workload (its name where it has none). */
export type RolloutId = { workload: string; revision: number; templateHash: string };

/** What each kind's idempotency key is derived from. */
export type KeyParts = {
  ModelVersionRegistered: { modelVersion: string; specDigest: string };
  /** `after`: the ledger index of the reinstatement this revocation follows (none for the first). */
  ModelVersionRevoked: { modelVersion: string; after?: number };
  ModelVersionReinstated: { modelVersion: string; revocationIndex: number };
  ArtifactRevoked: { digest: string };
  RolloutStarted: RolloutId;
  RolloutCompleted: RolloutId;
  RolloutFailed: RolloutId;
  ImageDigestChanged: RolloutId;
  ConfigChanged: RolloutId;
  DriftDetected: { podUid: string; running: string };
  RevokedModelInUse: { workload: string; revoked: string };
  ModelDeploymentDeleted: { workload: string };
  ArtifactVerified: RolloutId & { digest: string };
  ArtifactVerificationFailed: { podUid: string; expected: string };
  /** The review and the finding, in a fixed order (the API server retries with the same uid). */
  AdmissionDenied: { parts: readonly (string | null | undefined)[] };
  /** The API server sends a review again with the same uid when it retries the call. */
  ChangeAdmitted: { reviewUid: string };
  AnchoredCheckpoint: { origin: string; size: number };
};

/** The kinds of object an entry of this kind is recorded on. */
export type SubjectKind =
  | "ModelVersion"
  | "ModelDeployment"
  | "Deployment"
  | "ModelTrustPolicy"
  | "ConfigMap"
  | "reviewed object"
  | "Ledger";

export interface KindSpec<K extends EntryKind> {
  key(parts: KeyParts[K]): string;
  subjects: readonly SubjectKind[];
  eventType: EventType;
}

const rolloutKey =
  <K extends EntryKind>(kind: K) =>
  (id: RolloutId): string =>
    `${kind}/${id.workload}/${id.revision}-${id.templateHash}`;

const WORKLOADS: readonly SubjectKind[] = ["ModelDeployment", "Deployment"];

/** The one table of entry kinds. */
export const ENTRY_KINDS: { readonly [K in EntryKind]: KindSpec<K> } = {
  ModelVersionRegistered: {
    key: (p) => `ModelVersionRegistered/${p.modelVersion}/${p.specDigest}`,
    subjects: ["ModelVersion"],
    eventType: "Normal",
  },
  ModelVersionRevoked: {
    key: (p) =>
      p.after === undefined
        ? `ModelVersionRevoked/${p.modelVersion}`
        : `ModelVersionRevoked/${p.modelVersion}/after-${p.after}`,
    subjects: ["ModelVersion"],
    eventType: "Warning",
  },
  ModelVersionReinstated: {
    key: (p) => `ModelVersionReinstated/${p.modelVersion}/${p.revocationIndex}`,
    subjects: ["ModelVersion"],
    eventType: "Normal",
  },
  ArtifactRevoked: {
    key: (p) => `ArtifactRevoked/${p.digest}`,
    subjects: ["ModelTrustPolicy"],
    eventType: "Warning",
  },
  RolloutStarted: { key: rolloutKey("RolloutStarted"), subjects: WORKLOADS, eventType: "Normal" },
  RolloutCompleted: { key: rolloutKey("RolloutCompleted"), subjects: WORKLOADS, eventType: "Normal" },
  RolloutFailed: { key: rolloutKey("RolloutFailed"), subjects: WORKLOADS, eventType: "Warning" },
  ImageDigestChanged: { key: rolloutKey("ImageDigestChanged"), subjects: WORKLOADS, eventType: "Normal" },
  ConfigChanged: { key: rolloutKey("ConfigChanged"), subjects: WORKLOADS, eventType: "Normal" },
  DriftDetected: {
    key: (p) => `DriftDetected/${p.podUid}/${p.running}`,
    subjects: WORKLOADS,
    eventType: "Warning",
  },
  RevokedModelInUse: {
    key: (p) => `RevokedModelInUse/${p.workload}/${p.revoked}`,
    subjects: ["ModelDeployment"],
    eventType: "Warning",
  },
  ModelDeploymentDeleted: {
    key: (p) => `ModelDeploymentDeleted/${p.workload}`,
    subjects: ["ModelDeployment"],
    eventType: "Normal",
  },
  ArtifactVerified: {
    key: (p) => `ArtifactVerified/${p.workload}/${p.revision}-${p.templateHash}/${p.digest}`,
    subjects: ["ModelDeployment"],
    eventType: "Normal",
  },
  ArtifactVerificationFailed: {
    key: (p) => `ArtifactVerificationFailed/${p.podUid}/${p.expected}`,
    subjects: ["ModelDeployment"],
    eventType: "Warning",
  },
  AdmissionDenied: {
    key: (p) => `admission-denied:${createHash("sha256").update(JSON.stringify(p.parts)).digest("hex")}`,
    subjects: ["reviewed object"],
    eventType: "Warning",
  },
  ChangeAdmitted: {
    key: (p) => `ChangeAdmitted/${p.reviewUid}`,
    subjects: ["ModelVersion", "ModelDeployment", "Deployment", "ConfigMap"],
    eventType: "Normal",
  },
  AnchoredCheckpoint: {
    key: (p) => `AnchoredCheckpoint/${p.origin}/${p.size}`,
    subjects: ["Ledger"],
    eventType: "Normal",
  },
};

/** An event decided on, ready to be recorded: the entry's kind, key and data, and its Event text. */
export interface Recording<K extends EntryKind = EntryKind> {
  kind: K;
  key: string;
  data: EntryData[K];
  eventType: EventType;
  /** What `kubectl describe` shows; the recorder appends the ledger index. */
  message: string;
}

/** The only way a recording is made: the key comes from the kind's key function. */
export function recording<K extends EntryKind>(
  kind: K,
  parts: KeyParts[K],
  data: EntryData[K],
  message: string,
  eventType: EventType = ENTRY_KINDS[kind].eventType,
): Recording<K> {
  const spec: KindSpec<K> = ENTRY_KINDS[kind];
  return { kind, key: spec.key(parts), data, eventType, message };
}

/** The key a kind gives these parts, for looking an entry up. */
export function keyOf<K extends EntryKind>(kind: K, parts: KeyParts[K]): string {
  const spec: KindSpec<K> = ENTRY_KINDS[kind];
  return spec.key(parts);
}
