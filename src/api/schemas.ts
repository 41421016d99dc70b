// The CRDs as data: structural OpenAPI v3 schemas, printer columns and names. crds/*.yaml is
// generated from this (scripts/gen-crds.ts); validate.ts compiles the same schemas with ajv.
import {
  GROUP,
  VERSION,
  MODEL_DEPLOYMENT,
  MODEL_TRUST_POLICY,
  MODEL_VERSION,
  type ResourceNames,
} from "./group.ts";
import {
  ARTIFACT_URI_PATTERN,
  DIGEST_PATTERN,
  DNS_LABEL_PATTERN,
  arr,
  bool,
  int,
  obj,
  str,
  stringMap,
  type Schema,
} from "./schema-dsl.ts";
import {
  signatureSchema,
  trustRootsSchema,
  requiredSignersSchema,
  trustedKeysRule,
} from "./schemas-signing.ts";
import { podTemplateSchema, serviceSchema, servingSchema } from "./schemas-serving.ts";

export type { Schema } from "./schema-dsl.ts";

export { DIGEST_PATTERN, ARTIFACT_URI_PATTERN, DNS_LABEL_PATTERN } from "./schema-dsl.ts";

const condition = obj(
  {
    type: str({ maxLength: 316 }),
    status: str({ enum: ["True", "False", "Unknown"] }),
    reason: str({ maxLength: 1024 }),
    message: str({ maxLength: 32768 }),
    observedGeneration: int({ minimum: 0 }),
    lastTransitionTime: str({ format: "date-time" }),
  },
  ["type", "status", "reason", "message", "lastTransitionTime"],
);
const conditions = arr(condition, {
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
});
const ledgerReference = obj({ index: int({ minimum: 0 }), leafHash: str({ pattern: "^[a-f0-9]{64}$" }) }, [
  "index",
  "leafHash",
]);
const dnsName = str({ minLength: 1, maxLength: 253 });

export const modelVersionSchema: Schema = obj(
  {
    spec: obj(
      {
        model: str({ minLength: 1, maxLength: 253 }),
        version: str({ minLength: 1, maxLength: 128 }),
        artifact: obj(
          {
            uri: str({ pattern: ARTIFACT_URI_PATTERN }),
            digest: str({ pattern: DIGEST_PATTERN }),
            format: str(),
            // JSON numbers beyond 2^53 are read as another value by JavaScript parsers.
            sizeBytes: int({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
          },
          ["uri", "digest"],
        ),
        parents: arr(
          obj(
            {
              name: dnsName,
              namespace: str({ pattern: DNS_LABEL_PATTERN }),
              specDigest: str({ pattern: DIGEST_PATTERN }),
            },
            ["name"],
          ),
          { maxItems: 64 },
        ),
        datasets: arr(
          obj(
            {
              name: str({ minLength: 1 }),
              uri: str({ minLength: 1 }),
              digest: str({ pattern: DIGEST_PATTERN }),
              license: str(),
            },
            ["name", "uri"],
          ),
          { maxItems: 256 },
        ),
        training: obj({
          runId: str(),
          codeRepository: str(),
          codeCommit: str({ pattern: "^[a-f0-9]{7,64}$" }),
          framework: str(),
          parameters: stringMap(),
          startedAt: str({ format: "date-time" }),
          finishedAt: str({ format: "date-time" }),
        }),
        signatures: arr(signatureSchema, { maxItems: 16 }),
        revoked: obj({ reason: str({ minLength: 1 }), revokedAt: str({ format: "date-time" }) }, ["reason"]),
        reinstated: obj(
          {
            reason: str({ minLength: 1 }),
            revocationIndex: int({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
            keyId: str({ minLength: 1 }),
            signature: str({ pattern: "^[A-Za-z0-9+/]+={0,2}$" }),
          },
          ["reason", "revocationIndex", "keyId", "signature"],
        ),
      },
      ["model", "version", "artifact"],
    ),
    status: obj({
      observedGeneration: int({ minimum: 0 }),
      revocation: obj(
        {
          ledgerIndex: int({ minimum: 0 }),
          reason: str(),
          artifactDigest: str({ pattern: DIGEST_PATTERN }),
        },
        ["ledgerIndex", "reason"],
      ),
      conditions,
      specDigest: str({ pattern: DIGEST_PATTERN }),
      ledger: ledgerReference,
      lineageDepth: int({ minimum: 0 }),
    }),
  },
  ["spec"],
);

export const modelDeploymentSchema: Schema = obj(
  {
    spec: obj(
      {
        modelVersion: dnsName,
        image: str({ minLength: 1, maxLength: 1024 }),
        replicas: int({ minimum: 0, default: 1 }),
        serving: servingSchema,
        artifact: obj({ credentialsSecret: dnsName }),
        podTemplate: podTemplateSchema,
        service: serviceSchema,
        progressDeadlineSeconds: int({ minimum: 1, default: 600 }),
      },
      ["modelVersion", "image"],
    ),
    status: obj({
      observedGeneration: int({ minimum: 0 }),
      conditions,
      currentRevision: int({ minimum: 0 }),
      specDigest: str({ pattern: DIGEST_PATTERN }),
      configHash: str(),
      rollouts: arr(
        obj(
          {
            revision: int({ minimum: 0 }),
            templateHash: str(),
            image: str(),
            configHash: str(),
            phase: str({ enum: ["Started", "Completed", "Failed"] }),
            ledgerIndex: int({ minimum: 0 }),
            startedAt: str({ format: "date-time" }),
            finishedAt: str({ format: "date-time" }),
          },
          ["revision", "templateHash", "image", "configHash", "phase", "startedAt"],
        ),
        { maxItems: 20 },
      ),
      ledger: ledgerReference,
    }),
  },
  ["spec"],
);

// A function, not a shared object: a shared one would be written to the CRD YAML as an alias.
const trustedKey = (): Schema =>
  obj({ keyId: str({ minLength: 1 }), publicKey: str({ pattern: "-----BEGIN PUBLIC KEY-----" }) }, [
    "keyId",
    "publicKey",
  ]);

export const modelTrustPolicySchema: Schema = obj(
  {
    spec: obj(
      {
        trustedKeys: arr(trustedKey(), {
          minItems: 1,
          description: "ed25519 keys whose `modelchain sign` signatures are trusted.",
        }),
        trustRoots: trustRootsSchema,
        requiredSigners: requiredSignersSchema,
        require: obj({
          signature: bool({ default: true }),
          datasetsPinned: bool({ default: true }),
          parentsVerified: bool({ default: true }),
          recordedInLedger: bool({ default: false }),
        }),
        mode: str({ enum: ["enforce", "warn", "audit"], default: "enforce" }),
        namespaceSelector: obj({
          matchLabels: stringMap(),
          matchExpressions: arr(
            obj(
              {
                key: str({ minLength: 1 }),
                operator: str({ enum: ["In", "NotIn", "Exists", "DoesNotExist"] }),
                values: arr(str(), { maxItems: 256 }),
              },
              ["key", "operator"],
              {
                // As metav1.LabelSelector: `In: []` would otherwise select no namespace at all.
                "x-kubernetes-validations": [
                  {
                    rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                    message:
                      "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
                  },
                ],
              },
            ),
            { maxItems: 64 },
          ),
        }),
        maxLineageDepth: int({ minimum: 1, maximum: 256, default: 16 }),
        revocation: obj({
          scaleToZero: bool({ default: false }),
          artifacts: arr(
            obj({ digest: str({ pattern: DIGEST_PATTERN }), reason: str({ minLength: 1 }) }, [
              "digest",
              "reason",
            ]),
            {
              maxItems: 1024,
            },
          ),
          reinstatementKeys: arr(trustedKey(), { maxItems: 64 }),
        }),
      },
      [],
      { "x-kubernetes-validations": [trustedKeysRule] },
    ),
    status: obj({ observedGeneration: int({ minimum: 0 }), conditions }),
  },
  ["spec"],
);

const condition_ = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
const age = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

export interface CrdSource {
  names: ResourceNames;
  schema: Schema;
  printerColumns: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
}

export const CRD_SOURCES: CrdSource[] = [
  {
    names: MODEL_VERSION,
    schema: modelVersionSchema,
    printerColumns: [
      { name: "Model", type: "string", jsonPath: ".spec.model" },
      { name: "Version", type: "string", jsonPath: ".spec.version" },
      { name: "Verified", type: "string", jsonPath: condition_("Verified") },
      { name: "Recorded", type: "string", jsonPath: condition_("Recorded") },
      { name: "Ledger", type: "integer", jsonPath: ".status.ledger.index", priority: 1 },
      age,
    ],
  },
  {
    names: MODEL_DEPLOYMENT,
    schema: modelDeploymentSchema,
    printerColumns: [
      { name: "Model Version", type: "string", jsonPath: ".spec.modelVersion" },
      { name: "Admitted", type: "string", jsonPath: condition_("Admitted") },
      { name: "Available", type: "string", jsonPath: condition_("Available") },
      { name: "Recorded", type: "string", jsonPath: condition_("Recorded") },
      { name: "Drifted", type: "string", jsonPath: condition_("Drifted") },
      { name: "Revision", type: "integer", jsonPath: ".status.currentRevision" },
      { name: "Image", type: "string", jsonPath: ".spec.image", priority: 1 },
      age,
    ],
  },
  {
    names: MODEL_TRUST_POLICY,
    schema: modelTrustPolicySchema,
    printerColumns: [
      { name: "Mode", type: "string", jsonPath: ".spec.mode" },
      { name: "Max Depth", type: "integer", jsonPath: ".spec.maxLineageDepth" },
      age,
    ],
  },
];

/** The apiextensions.k8s.io/v1 CustomResourceDefinition for one kind. */
export function customResourceDefinition(source: CrdSource): Record<string, unknown> {
  const { names } = source;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: names.namespaced ? "Namespaced" : "Cluster",
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: ["modelchain"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: source.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: str(),
                kind: str(),
                metadata: { type: "object" },
                ...(source.schema["properties"] as Schema),
              },
              required: ["spec"],
            },
          },
        },
      ],
    },
  };
}
