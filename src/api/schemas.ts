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
import { DIGEST_PATTERN, arr, int, obj, str, type Schema } from "./schema-dsl.ts";
import { PINNED_IMAGE_PATTERN } from "./image-reference.ts";
import { conditions, dnsName, ledgerReference, observedGeneration } from "./schemas-common.ts";
import { modelVersionSchema } from "./schemas-modelversion.ts";
import { modelTrustPolicySchema } from "./schemas-trustpolicy.ts";
import { podTemplateSchema, serviceSchema, servingSchema } from "./schemas-serving.ts";

export type { Schema } from "./schema-dsl.ts";

export { DIGEST_PATTERN, ARTIFACT_URI_PATTERN, DNS_LABEL_PATTERN } from "./schema-dsl.ts";
export { modelVersionSchema } from "./schemas-modelversion.ts";
export { modelTrustPolicySchema } from "./schemas-trustpolicy.ts";

// Every property has a description: `kubectl explain` reads them from the CRD (and
// test/api/descriptions.test.ts refuses a property without one).

/** CEL: the serving image is pinned by digest, with the grammar the webhook applies (image-reference.ts). */
const PINNED_IMAGE_RULE = {
  rule: `self.matches(r'${PINNED_IMAGE_PATTERN}')`,
  message:
    "must be pinned by digest, name[:tag]@sha256:<64 hex>: a tag can be moved to other bytes, so modelchain admits only a digest",
};

export const modelDeploymentSchema: Schema = obj(
  {
    spec: obj(
      {
        modelVersion: dnsName("The ModelVersion (same namespace) to serve; it must verify to be admitted."),
        image: str({
          minLength: 1,
          maxLength: 1024,
          description:
            "The serving image, pinned by digest: registry/name[:tag]@sha256:<64 hex>. The API server refuses a tag alone, with or without the webhook.",
          "x-kubernetes-validations": [PINNED_IMAGE_RULE],
        }),
        replicas: int({ minimum: 0, default: 1, description: "Replicas of the owned Deployment." }),
        serving: servingSchema,
        artifact: obj(
          {
            credentialsSecret: dnsName(
              "A Secret in this namespace whose keys become the fetch init container's environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, HF_TOKEN, MODELCHAIN_ARTIFACT_TOKEN); only that container sees them.",
            ),
          },
          [],
          { description: "How the Pod gets the ModelVersion's artifact." },
        ),
        podTemplate: podTemplateSchema,
        service: serviceSchema,
        progressDeadlineSeconds: int({
          minimum: 1,
          default: 600,
          description: "Seconds a rollout may make no progress before it is recorded as RolloutFailed.",
        }),
      },
      ["modelVersion", "image"],
      { description: "Which ModelVersion to serve, with which image and serving configuration." },
    ),
    status: obj(
      {
        observedGeneration: observedGeneration(),
        conditions,
        currentRevision: int({ minimum: 0, description: "The revision rolled out last." }),
        specDigest: str({ pattern: DIGEST_PATTERN, description: "The served ModelVersion's spec digest." }),
        configHash: str({
          description: "sha256 of the serving configuration (incl. referenced ConfigMaps).",
        }),
        rollouts: arr(
          obj(
            {
              revision: int({ minimum: 0, description: "The rollout's revision, from 1." }),
              templateHash: str({
                description: "Identity of what was rolled out: image, config hash and model spec digest.",
              }),
              image: str({ description: "The image rolled out." }),
              configHash: str({ description: "The config hash rolled out." }),
              phase: str({
                enum: ["Started", "Completed", "Failed"],
                description: "Started, Completed or Failed.",
              }),
              ledgerIndex: int({
                minimum: 0,
                description: "Ledger index of the entry that recorded the phase.",
              }),
              startedAt: str({ format: "date-time", description: "When the rollout started." }),
              finishedAt: str({ format: "date-time", description: "When it completed or failed." }),
            },
            ["revision", "templateHash", "image", "configHash", "phase", "startedAt"],
          ),
          { maxItems: 20, description: "The latest rollouts, oldest first." },
        ),
        ledger: ledgerReference,
      },
      [],
      { description: "What the operator observed: admission, rollouts and the ledger entries." },
    ),
  },
  ["spec"],
);

const condition_ = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
const age = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };

export interface CrdSource {
  names: ResourceNames;
  /** What `kubectl explain <kind>` says first. */
  description: string;
  schema: Schema;
  printerColumns: Array<{ name: string; type: string; jsonPath: string; priority?: number }>;
}

export const CRD_SOURCES: CrdSource[] = [
  {
    names: MODEL_VERSION,
    description:
      "A version of a model: its artifact and digest, parents, datasets and training run, signed by its producer. The operator verifies its lineage and records it in the ledger; Ready once verified and recorded.",
    schema: modelVersionSchema,
    printerColumns: [
      { name: "Model", type: "string", jsonPath: ".spec.model" },
      { name: "Version", type: "string", jsonPath: ".spec.version" },
      { name: "Ready", type: "string", jsonPath: condition_("Ready") },
      { name: "Verified", type: "string", jsonPath: condition_("Verified") },
      { name: "Recorded", type: "string", jsonPath: condition_("Recorded") },
      { name: "Ledger", type: "integer", jsonPath: ".status.ledger.index", priority: 1 },
      age,
    ],
  },
  {
    names: MODEL_DEPLOYMENT,
    description:
      "Serves a ModelVersion: the operator creates and owns a Deployment once the model's lineage verifies, and records every rollout, image digest and config change in the ledger. Ready once admitted, rolled out, verified and available.",
    schema: modelDeploymentSchema,
    printerColumns: [
      { name: "Model Version", type: "string", jsonPath: ".spec.modelVersion" },
      { name: "Ready", type: "string", jsonPath: condition_("Ready") },
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
    description:
      "Which signers are trusted for which namespaces, which lineage checks are enforced, and which artifacts are revoked. Ready once the operator accepted it.",
    schema: modelTrustPolicySchema,
    printerColumns: [
      { name: "Mode", type: "string", jsonPath: ".spec.mode" },
      { name: "Ready", type: "string", jsonPath: condition_("Ready") },
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
              description: source.description,
              properties: {
                apiVersion: str({
                  description: "The versioned schema of this representation: modelchain.io/v1alpha1.",
                }),
                kind: str({ description: `The REST resource this object represents: ${names.kind}.` }),
                // The API server documents metadata (ObjectMeta) itself and refuses a description here.
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
