// The key formats and data shapes of every entry kind are a compatibility promise to auditors:
// this table pins them. A change here is a new TRAIL_VERSION, with the README saying what changed.
import { describe, expect, it } from "vitest";
import { ENTRY_KINDS, entryFor, recording, TRAIL_VERSION, type EntryKind } from "../../src/trail/index.ts";

const D = `sha256:${"d".repeat(64)}`;
const IMG = `registry.example/serve@sha256:${"1".repeat(64)}`;
const rollout = { workload: "uid-w", revision: 3, templateHash: "0123456789abcdef" };
const outcome = { revision: 3, templateHash: "0123456789abcdef", images: { server: IMG }, configHash: D };

/** For each kind: the key parts and data a writer passes, and the key that must come out. */
const PINNED: {
  [K in EntryKind]: { parts: Parameters<(typeof ENTRY_KINDS)[K]["key"]>[0]; data: unknown; key: string };
} = {
  ModelVersionRegistered: {
    parts: { modelVersion: "uid-m", specDigest: D },
    data: {
      specDigest: D,
      model: "mistral-7b",
      version: "2",
      artifact: { uri: "oci://r/m", digest: D },
      parents: ["ml/base"],
      datasets: [{ name: "faq", uri: "s3://b/faq", digest: D }],
      training: { runId: "r1" },
      signedBy: ["team-a"],
      verified: true,
      failedChecks: [],
    },
    key: `ModelVersionRegistered/uid-m/${D}`,
  },
  ModelVersionRevoked: {
    parts: { modelVersion: "uid-m" },
    data: { specDigest: D, reason: "leaked", revokedAt: null },
    key: "ModelVersionRevoked/uid-m",
  },
  ModelVersionReinstated: {
    parts: { modelVersion: "uid-m", revocationIndex: 7 },
    data: { specDigest: D, reason: "false alarm", revocationIndex: 7, signedBy: "k1", policy: "ml-models" },
    key: "ModelVersionReinstated/uid-m/7",
  },
  ArtifactRevoked: {
    parts: { digest: D },
    data: { digest: D, reason: "poisoned", policy: "ml-models" },
    key: `ArtifactRevoked/${D}`,
  },
  RolloutStarted: {
    parts: rollout,
    data: {
      revision: 3,
      modelVersion: "mistral",
      modelSpecDigest: D,
      images: { server: IMG },
      configHash: D,
      templateHash: "0123456789abcdef",
    },
    key: "RolloutStarted/uid-w/3-0123456789abcdef",
  },
  RolloutCompleted: { parts: rollout, data: outcome, key: "RolloutCompleted/uid-w/3-0123456789abcdef" },
  RolloutFailed: { parts: rollout, data: outcome, key: "RolloutFailed/uid-w/3-0123456789abcdef" },
  ImageDigestChanged: {
    parts: rollout,
    data: { revision: 3, modelVersion: "mistral", from: { server: "a@sha256:0" }, to: { server: IMG } },
    key: "ImageDigestChanged/uid-w/3-0123456789abcdef",
  },
  ConfigChanged: {
    parts: rollout,
    data: { revision: 3, modelVersion: "mistral", from: "sha256:0", to: D },
    key: "ConfigChanged/uid-w/3-0123456789abcdef",
  },
  DriftDetected: {
    parts: { podUid: "uid-p", running: D },
    data: { pod: "p-0", container: "server", admitted: "sha256:0", running: D },
    key: `DriftDetected/uid-p/${D}`,
  },
  RevokedModelInUse: {
    parts: { workload: "uid-w", revoked: "ml/base" },
    data: { modelVersion: "mistral", revoked: "ml/base", replicas: 2, scaleToZero: true },
    key: "RevokedModelInUse/uid-w/ml/base",
  },
  ModelDeploymentDeleted: {
    parts: { workload: "uid-w" },
    data: { modelVersion: "mistral", image: IMG, lastRevision: 3 },
    key: "ModelDeploymentDeleted/uid-w",
  },
  ArtifactVerified: {
    parts: { ...rollout, digest: D },
    data: { revision: 3, uri: "s3://b/m/", digest: D, pod: "chat-7d9f-abcde", verifiedBy: "init-container" },
    key: `ArtifactVerified/uid-w/3-0123456789abcdef/${D}`,
  },
  ArtifactVerificationFailed: {
    parts: { podUid: "uid-p", expected: D },
    data: {
      revision: 3,
      uri: "s3://b/m/",
      expected: D,
      actual: "sha256:0",
      file: "config.json",
      pod: "chat-7d9f-abcde",
      message: "artifact s3://b/m/: digest sha256:0, expected …",
    },
    key: `ArtifactVerificationFailed/uid-p/${D}`,
  },
  AdmissionDenied: {
    parts: {
      parts: ["review-1", "apps", "Deployment", "ml", "web", "image-not-pinned", "imagePinned", "strict"],
    },
    data: {
      reviewUid: "review-1",
      operation: "CREATE",
      reason: "image-not-pinned",
      check: "imagePinned",
      message: "image nginx is not pinned",
      policy: "strict",
      mode: "enforce",
      enforced: true,
      ledgerTip: null,
    },
    key: "admission-denied:fc0afcf574667f1753df16fe159afe6d322cbedbad8f37e8e3f9ebde836e6f43",
  },
  ChangeAdmitted: {
    parts: { reviewUid: "review-2" },
    data: {
      reviewUid: "review-2",
      operation: "UPDATE",
      actor: {
        username: "system:serviceaccount:ml:deployer",
        uid: "sa-uid",
        groups: ["system:serviceaccounts"],
        serviceAccount: { namespace: "ml", name: "deployer" },
      },
      generation: 4,
      diff: [{ op: "replace", path: "/spec/serving/env/LOG_LEVEL/value", value: D }],
    },
    key: "ChangeAdmitted/review-2",
  },
  AnchoredCheckpoint: {
    parts: { origin: `modelchain.io/ledger/${"a".repeat(32)}`, size: 42 },
    data: {
      origin: `modelchain.io/ledger/${"a".repeat(32)}`,
      size: 42,
      root: "b".repeat(64),
      checkpoint: "modelchain.io/ledger/…\n42\n…\n\n— …\n",
    },
    key: `AnchoredCheckpoint/modelchain.io/ledger/${"a".repeat(32)}/42`,
  },
};

/** The field names of each kind's data, in order: the shape auditors' tools read. */
const SHAPES: Record<EntryKind, string[]> = {
  ModelVersionRegistered: [
    "specDigest",
    "model",
    "version",
    "artifact",
    "parents",
    "datasets",
    "training",
    "signedBy",
    "verified",
    "failedChecks",
  ],
  ModelVersionRevoked: ["specDigest", "reason", "revokedAt"],
  ModelVersionReinstated: ["specDigest", "reason", "revocationIndex", "signedBy", "policy"],
  ArtifactRevoked: ["digest", "reason", "policy"],
  RolloutStarted: ["revision", "modelVersion", "modelSpecDigest", "images", "configHash", "templateHash"],
  RolloutCompleted: ["revision", "templateHash", "images", "configHash"],
  RolloutFailed: ["revision", "templateHash", "images", "configHash"],
  ImageDigestChanged: ["revision", "modelVersion", "from", "to"],
  ConfigChanged: ["revision", "modelVersion", "from", "to"],
  DriftDetected: ["pod", "container", "admitted", "running"],
  RevokedModelInUse: ["modelVersion", "revoked", "replicas", "scaleToZero"],
  ModelDeploymentDeleted: ["modelVersion", "image", "lastRevision"],
  ArtifactVerified: ["revision", "uri", "digest", "pod", "verifiedBy"],
  ArtifactVerificationFailed: ["revision", "uri", "expected", "actual", "file", "pod", "message"],
  AdmissionDenied: [
    "reviewUid",
    "operation",
    "reason",
    "check",
    "message",
    "policy",
    "mode",
    "enforced",
    "ledgerTip",
  ],
  ChangeAdmitted: ["reviewUid", "operation", "actor", "generation", "diff"],
  AnchoredCheckpoint: ["origin", "size", "root", "checkpoint"],
};

describe("entry kinds", () => {
  it("pins a key and a data shape for every kind in the table, and no other", () => {
    expect(Object.keys(PINNED).sort()).toEqual(Object.keys(ENTRY_KINDS).sort());
    expect(Object.keys(SHAPES).sort()).toEqual(Object.keys(ENTRY_KINDS).sort());
  });

  it.each(Object.keys(ENTRY_KINDS) as EntryKind[])("builds the pinned key and data of %s", (kind) => {
    const pin = PINNED[kind];
    const built = recording(kind, pin.parts as never, pin.data as never, "message");
    expect(built.key).toBe(pin.key);
    expect(Object.keys(built.data as object)).toEqual(SHAPES[kind]);
    expect(built.eventType).toBe(ENTRY_KINDS[kind].eventType);
  });

  it("keys a revocation after a reinstatement by that reinstatement, and the first one as before", () => {
    expect(ENTRY_KINDS.ModelVersionRevoked.key({ modelVersion: "uid-m" })).toBe("ModelVersionRevoked/uid-m");
    expect(ENTRY_KINDS.ModelVersionRevoked.key({ modelVersion: "uid-m", after: 9 })).toBe(
      "ModelVersionRevoked/uid-m/after-9",
    );
  });

  it("keys an admission denial by the SHA-256 of its parts, so a retried review repeats it and another does not", () => {
    const parts = PINNED.AdmissionDenied.parts;
    const key = ENTRY_KINDS.AdmissionDenied.key(parts);
    expect(ENTRY_KINDS.AdmissionDenied.key({ parts: [...parts.parts] })).toBe(key);
    expect(ENTRY_KINDS.AdmissionDenied.key({ parts: ["review-2", ...parts.parts.slice(1)] })).not.toBe(key);
  });

  it("writes entries of the current trail version with the subject's identity", () => {
    const subject = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: "ml", uid: "u" },
    };
    const pin = PINNED.RolloutStarted;
    const entry = entryFor(
      subject,
      recording("RolloutStarted", pin.parts, pin.data as never, "m"),
      "prod",
      new Date(0),
    );
    expect(entry).toEqual({
      v: TRAIL_VERSION,
      kind: "RolloutStarted",
      cluster: "prod",
      subject: { apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "ml", uid: "u" },
      key: pin.key,
      observedAt: "1970-01-01T00:00:00.000Z",
      data: pin.data,
    });
    expect(TRAIL_VERSION).toBe(2);
  });
});
