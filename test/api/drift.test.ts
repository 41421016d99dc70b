import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  crdFiles,
  CRD_SOURCES,
  validateModelDeployment,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelDeploymentSpec,
  type ModelDeploymentStatus,
  type ModelTrustPolicySpec,
  type ModelVersionSpec,
  type ModelVersionStatus,
  type Schema,
} from "../../src/api/index.ts";
import { isUpstreamShape } from "../../src/api/kube-fields.ts";
import { sampleFiles, sampleObjects } from "./samples.ts";

// Every field of every type, present: the compiler refuses these objects if a type gains or
// loses a field, and the test below refuses them if the schema does not list exactly these.
// The fields in upstream Kubernetes shapes (kube-fields.ts) are leaves here: their insides are
// Kubernetes' own types and schemas, generated from one OpenAPI document.
type UpstreamField =
  | "env"
  | "resources"
  | "volumeMounts"
  | "livenessProbe"
  | "readinessProbe"
  | "startupProbe"
  | "securityContext"
  | "nodeSelector"
  | "tolerations"
  | "affinity"
  | "topologySpreadConstraints"
  | "runtimeClassName"
  | "volumes";
type Full<T> =
  T extends Array<infer U>
    ? [Full<U>]
    : T extends object
      ? { [K in keyof T]-?: K extends UpstreamField ? NonNullable<T[K]> : Full<NonNullable<T[K]>> }
      : T;
const digest = `sha256:${"a".repeat(64)}`;
const now = "2026-01-01T00:00:00Z";
const condition = {
  type: "Verified",
  status: "True" as const,
  reason: "R",
  message: "m",
  observedGeneration: 1,
  lastTransitionTime: now,
};
const fullMvSpec: Full<ModelVersionSpec> = {
  model: "m",
  version: "1",
  artifact: { uri: "oci://r/m:1", digest, format: "f", sizeBytes: 1 },
  parents: [{ name: "p", namespace: "ns", specDigest: digest }],
  datasets: [{ name: "d", uri: "s3://b/d", digest, license: "l" }],
  training: {
    runId: "r",
    codeRepository: "c",
    codeCommit: "abcdef1",
    framework: "f",
    parameters: { k: "v" },
    startedAt: now,
    finishedAt: now,
  },
  signatures: [
    {
      type: "oms",
      keyId: "k",
      signature: "c2ln",
      bundle: "{}",
      configMapKeyRef: { name: "c", key: "k" },
      secretKeyRef: { name: "s", key: "k" },
    },
  ],
  revoked: { reason: "r", revokedAt: now },
  reinstated: { reason: "r", revocationIndex: 1, keyId: "k", signature: "c2ln" },
};
const mvStatus: Full<ModelVersionStatus> = {
  observedGeneration: 1,
  revocation: { ledgerIndex: 3, reason: "r", artifactDigest: digest },
  conditions: [condition],
  specDigest: digest,
  ledger: { index: 1, leafHash: "b".repeat(64) },
  lineageDepth: 1,
};
const mdSpec: Full<ModelDeploymentSpec> = {
  modelVersion: "mv",
  image: `r/i@${digest}`,
  replicas: 1,
  serving: {
    args: ["a"],
    env: [{ name: "n", value: "v" }],
    resources: { requests: { cpu: "1" }, limits: { memory: "1Gi" } },
    configMapRefs: [{ name: "c" }],
    port: 8000,
    modelPath: "/models",
    volumeMounts: [{ name: "cache", mountPath: "/cache" }],
    livenessProbe: { httpGet: { path: "/health", port: "http" } },
    readinessProbe: { httpGet: { path: "/health", port: "http" } },
    startupProbe: { httpGet: { path: "/health", port: "http" }, failureThreshold: 60 },
    securityContext: { allowPrivilegeEscalation: false },
  },
  artifact: { credentialsSecret: "s" },
  podTemplate: {
    labels: { a: "b" },
    annotations: { a: "b" },
    nodeSelector: { a: "b" },
    serviceAccountName: "s",
    priorityClassName: "p",
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    affinity: { nodeAffinity: {} },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" }],
    runtimeClassName: "nvidia",
    securityContext: { runAsNonRoot: true },
    volumes: [{ name: "cache", emptyDir: {} }],
  },
  service: { port: 80, targetPort: "http", type: "ClusterIP" },
  progressDeadlineSeconds: 60,
};
const mdStatus: Full<ModelDeploymentStatus> = {
  observedGeneration: 1,
  conditions: [condition],
  currentRevision: 1,
  specDigest: digest,
  configHash: digest,
  rollouts: [
    {
      revision: 1,
      templateHash: "t",
      image: "i",
      configHash: digest,
      phase: "Started",
      ledgerIndex: 1,
      startedAt: now,
      finishedAt: now,
    },
  ],
  ledger: { index: 1, leafHash: "b".repeat(64) },
};
const fullMtpSpec: Full<ModelTrustPolicySpec> = {
  trustedKeys: [
    {
      keyId: "k",
      publicKey:
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAcYg7NuGCVje75u7Dpu/VyA7VOeLAusCwSVnKAs3uGmo=\n-----END PUBLIC KEY-----\n",
    },
  ],
  trustRoots: [
    {
      name: "r",
      publicKey: "-----BEGIN PUBLIC KEY-----\n",
      certificateAuthority: { certificates: "-----BEGIN CERTIFICATE-----\n" },
      keyless: {
        trustedRoot: { configMapKeyRef: { namespace: "ns", name: "c", key: "trusted_root.json" } },
        identities: [{ issuer: "i", issuerRegExp: "i", subject: "s", subjectRegExp: "s" }],
      },
    },
  ],
  requiredSigners: 1,
  require: { signature: true, datasetsPinned: true, parentsVerified: true, recordedInLedger: true },
  mode: "enforce",
  namespaceSelector: {
    matchLabels: { a: "b" },
    matchExpressions: [{ key: "k", operator: "In", values: ["v"] }],
  },
  maxLineageDepth: 4,
  revocation: {
    scaleToZero: true,
    artifacts: [{ digest, reason: "r" }],
    reinstatementKeys: [
      { keyId: "k", publicKey: "-----BEGIN PUBLIC KEY-----\nMC=\n-----END PUBLIC KEY-----" },
    ],
  },
};

/** Paths of every field in a value, arrays as "[]" and string maps as "{}"; upstream shapes are leaves. */
function valuePaths(value: unknown, prefix: string, maps: Set<string>): string[] {
  if (maps.has(`${prefix}<kube>`)) return [`${prefix}<kube>`];
  if (Array.isArray(value)) return valuePaths(value[0], `${prefix}[]`, maps);
  if (typeof value !== "object" || value === null) return [prefix];
  if (maps.has(prefix)) return [`${prefix}{}`];
  return Object.entries(value).flatMap(([k, v]) => valuePaths(v, `${prefix}.${k}`, maps));
}

function schemaPaths(schema: Schema, prefix: string, maps: Set<string>): string[] {
  if (isUpstreamShape(schema)) {
    maps.add(`${prefix}<kube>`);
    return [`${prefix}<kube>`];
  }
  if (schema["type"] === "array") return schemaPaths(schema["items"] as Schema, `${prefix}[]`, maps);
  const props = schema["properties"] as Record<string, Schema> | undefined;
  if (props === undefined) {
    if (schema["additionalProperties"] !== undefined) {
      maps.add(prefix);
      return [`${prefix}{}`];
    }
    return [prefix];
  }
  return Object.entries(props).flatMap(([k, v]) => schemaPaths(v, `${prefix}.${k}`, maps));
}

describe("TypeScript types and CRD schemas", () => {
  const cases: Array<[string, Schema, Record<string, unknown>]> = [
    ["ModelVersion", CRD_SOURCES[0]?.schema ?? {}, { spec: fullMvSpec, status: mvStatus }],
    ["ModelDeployment", CRD_SOURCES[1]?.schema ?? {}, { spec: mdSpec, status: mdStatus }],
    [
      "ModelTrustPolicy",
      CRD_SOURCES[2]?.schema ?? {},
      { spec: fullMtpSpec, status: { observedGeneration: 1, conditions: [condition] } },
    ],
  ];
  it.each(cases)(
    "%s: every field of the TypeScript type is in the schema and nothing else",
    (_kind, schema, full) => {
      const maps = new Set<string>();
      const fromSchema = schemaPaths(schema, "", maps).sort();
      const fromTypes = valuePaths(full, "", maps).sort();
      expect(fromTypes).toEqual(fromSchema);
    },
  );

  it("accepts the full objects under the schema validators (one-of fields chosen once each)", () => {
    const meta = { name: "x", namespace: "ns" };
    const oneOf = { type: "oms" as const, bundle: "{}" };
    const mvSpec = { ...fullMvSpec, signatures: [{ keyId: "k", signature: "c2ln" }, oneOf] };
    const root = fullMtpSpec.trustRoots[0];
    const identity = { issuer: "i", subjectRegExp: "s" };
    const keyless = { name: "k", keyless: { ...root.keyless, identities: [identity] } };
    const mtpSpec = { ...fullMtpSpec, trustRoots: [{ name: "p", publicKey: root.publicKey }, keyless] };
    const api = "modelchain.io/v1alpha1";
    expect(
      validateModelVersion({
        apiVersion: api,
        kind: "ModelVersion",
        metadata: meta,
        spec: mvSpec,
        status: mvStatus,
      }).ok,
    ).toBe(true);
    expect(
      validateModelDeployment({
        apiVersion: api,
        kind: "ModelDeployment",
        metadata: meta,
        spec: mdSpec,
        status: mdStatus,
      }).ok,
    ).toBe(true);
    expect(
      validateModelTrustPolicy({
        apiVersion: api,
        kind: "ModelTrustPolicy",
        metadata: { name: "p" },
        spec: mtpSpec,
      }).ok,
    ).toBe(true);
  });

  it("keeps crds/ equal to what the schemas generate (run `make crds`)", () => {
    for (const [name, text] of crdFiles()) {
      expect(readFileSync(join(import.meta.dirname, "..", "..", "crds", name), "utf8"), name).toBe(text);
    }
  });
});

describe("samples", () => {
  const validators: Record<string, (v: unknown) => { ok: boolean }> = {
    ModelVersion: validateModelVersion,
    ModelDeployment: validateModelDeployment,
    ModelTrustPolicy: validateModelTrustPolicy,
  };
  const files = [...sampleFiles(), ...sampleFiles("bad")];
  it.each(files)("%s is schema-valid (bad samples fail lineage or admission, not the schema)", (file) => {
    const objects = sampleObjects(file).filter(
      (o) => typeof o["kind"] === "string" && o["kind"] in validators,
    );
    for (const o of objects) {
      const result = validators[o["kind"] as string]?.(o);
      expect(result, `${file} ${String(o["kind"])}: ${JSON.stringify(result)}`).toMatchObject({ ok: true });
    }
  });
});
