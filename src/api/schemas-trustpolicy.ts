// The ModelTrustPolicy schema (CRD modeltrustpolicies.modelchain.io).
import { DIGEST_PATTERN, arr, bool, int, obj, str, stringMap, type Schema } from "./schema-dsl.ts";
import { conditions, observedGeneration } from "./schemas-common.ts";
import { requiredSignersSchema, trustedKeysRule, trustRootsSchema } from "./schemas-signing.ts";
// A function, not a shared object: a shared one would be written to the CRD YAML as an alias.
const trustedKey = (): Schema =>
  obj(
    {
      keyId: str({
        minLength: 1,
        description: "The key's id, as signatures name it (modelchain keygen prints it).",
      }),
      publicKey: str({
        pattern: "-----BEGIN PUBLIC KEY-----",
        description: "The ed25519 public key, PEM (SPKI).",
      }),
    },
    ["keyId", "publicKey"],
  );

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
        require: obj(
          {
            signature: bool({ default: true, description: "Signed by requiredSigners trusted signers." }),
            datasetsPinned: bool({ default: true, description: "Every dataset has a sha256 digest." }),
            parentsVerified: bool({
              default: true,
              description: "Every parent verifies and is bound by spec digest.",
            }),
            recordedInLedger: bool({
              default: false,
              description: "The ledger holds a ModelVersionRegistered entry for this spec digest.",
            }),
          },
          [],
          { description: "Which lineage checks must pass (each is reported either way)." },
        ),
        mode: str({
          enum: ["enforce", "warn", "audit"],
          default: "enforce",
          description: "enforce: deny what fails; warn: admit with a warning; audit: admit and record.",
        }),
        namespaceSelector: obj(
          {
            matchLabels: { ...stringMap(), description: "Labels a namespace must have, all of them." },
            matchExpressions: arr(
              obj(
                {
                  key: str({ minLength: 1, description: "The label's key." }),
                  operator: str({
                    enum: ["In", "NotIn", "Exists", "DoesNotExist"],
                    description: "In, NotIn, Exists or DoesNotExist.",
                  }),
                  values: arr(str(), {
                    maxItems: 256,
                    description: "Values for In and NotIn; empty otherwise.",
                  }),
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
              { maxItems: 64, description: "Label requirements a namespace must meet, all of them." },
            ),
          },
          [],
          { description: "The namespaces this policy governs (a metav1.LabelSelector); all when unset." },
        ),
        maxLineageDepth: int({
          minimum: 1,
          maximum: 256,
          default: 16,
          description: "Generations of parents a lineage may have.",
        }),
        revocation: obj(
          {
            scaleToZero: bool({
              default: false,
              description: "Scale Deployments serving a revoked model (or a descendant) to zero.",
            }),
            artifacts: arr(
              obj(
                {
                  digest: str({ pattern: DIGEST_PATTERN, description: "The revoked artifact digest." }),
                  reason: str({ minLength: 1, description: "Why it is revoked." }),
                },
                ["digest", "reason"],
              ),
              {
                maxItems: 1024,
                description:
                  "Artifact digests revoked for good, recorded as ArtifactRevoked: every ModelVersion with one fails, in every cluster following the ledger. Removing one lifts nothing.",
              },
            ),
            reinstatementKeys: arr(trustedKey(), {
              maxItems: 64,
              description: "Keys whose signed `modelchain reinstate` lifts a recorded revocation.",
            }),
          },
          [],
          { description: "What revocation does and who may lift it." },
        ),
      },
      [],
      {
        description: "Whom to trust for which namespaces, and which lineage checks to enforce.",
        "x-kubernetes-validations": [trustedKeysRule],
      },
    ),
    status: obj({ observedGeneration: observedGeneration(), conditions }, [], {
      description: "Whether the operator accepted the policy.",
    }),
  },
  ["spec"],
);
