// The ModelVersion schema (CRD modelversions.modelchain.io).
import {
  ARTIFACT_URI_PATTERN,
  DIGEST_PATTERN,
  DNS_LABEL_PATTERN,
  arr,
  int,
  obj,
  str,
  type Schema,
} from "./schema-dsl.ts";
import { conditions, dnsName, ledgerReference, observedGeneration } from "./schemas-common.ts";
import { PARAMETER_VALUE_SCHEMA } from "./parameters.ts";
import { signatureSchema } from "./schemas-signing.ts";

export const modelVersionSchema: Schema = obj(
  {
    spec: obj(
      {
        model: str({
          minLength: 1,
          maxLength: 253,
          description: "The model's name, e.g. mistral-7b-support.",
        }),
        version: str({ minLength: 1, maxLength: 128, description: "This version of the model, e.g. 2.0.0." }),
        artifact: obj(
          {
            uri: str({
              pattern: ARTIFACT_URI_PATTERN,
              description:
                "Where the artifact is: oci://registry/repo[:tag] (mounted as an image volume, pulled by digest), s3://bucket/key, gs://bucket/key, https://host/path, hf://owner/repo@revision[/path] (a file, a folder, or without a path the whole repository) or pvc://claim/path (fetched by an init container, checked against digest); MLflow's models:/NAME/VERSION and runs:/RUN/PATH are recorded and verified, but not delivered (modelchain import mlflow resolves them to the store's URI where it can).",
            }),
            digest: str({
              pattern: DIGEST_PATTERN,
              description:
                "sha256:<64 hex> of the artifact: for oci://, its image manifest digest; for a file or directory, the digest `modelchain artifact digest` prints (OpenSSF Model Signing's rule). The Pod gets only bytes with this digest.",
            }),
            format: str({ description: "The artifact's format, e.g. safetensors or gguf (informative)." }),
            // JSON numbers beyond 2^53 are read as another value by JavaScript parsers.
            sizeBytes: int({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "The artifact's size in bytes (informative).",
            }),
          },
          ["uri", "digest"],
          { description: "The model's bytes: where they are and the digest they must have." },
        ),
        parents: arr(
          obj(
            {
              name: dnsName("The parent ModelVersion's name."),
              namespace: str({
                pattern: DNS_LABEL_PATTERN,
                description: "The parent's namespace; this ModelVersion's namespace when unset.",
              }),
              specDigest: str({
                pattern: DIGEST_PATTERN,
                description:
                  "The parent's spec digest when this one was signed (`modelchain sign` fills it in); the signature covers it, so another ModelVersion of the same name is not the parent. Without it the parent check fails closed.",
              }),
            },
            ["name"],
          ),
          {
            maxItems: 64,
            description:
              "The ModelVersions this one was trained or fine-tuned from; each must verify (parentsVerified) and none be revoked.",
          },
        ),
        datasets: arr(
          obj(
            {
              name: str({ minLength: 1, description: "The dataset's name." }),
              uri: str({ minLength: 1, description: "Where the dataset is (any URI; not fetched)." }),
              digest: str({
                pattern: DIGEST_PATTERN,
                description:
                  "sha256:<64 hex> of the dataset; a dataset without one is not pinned (datasetsPinned).",
              }),
              license: str({ description: "The dataset's license, e.g. CC-BY-4.0 (informative)." }),
            },
            ["name", "uri"],
          ),
          { maxItems: 256, description: "The datasets the model was trained on." },
        ),
        training: obj(
          {
            runId: str({ description: "The training run's id in the pipeline (informative)." }),
            codeRepository: str({ description: "The repository of the training code." }),
            codeCommit: str({
              pattern: "^[a-f0-9]{7,64}$",
              description: "The commit of the training code, hex.",
            }),
            framework: str({ description: "The training framework, e.g. pytorch-2.4." }),
            parameters: {
              type: "object",
              description:
                'Hyperparameters, each a string, a number or a boolean as written (learningRate: 3e-4, epochs: 3, bf16: true). Signed as RFC 8785 JSON: 3e-4 and 0.0003 are one number and one signature; a quoted "3e-4" is a string, another value.',
              additionalProperties: PARAMETER_VALUE_SCHEMA,
            },
            startedAt: str({ format: "date-time", description: "When training started (RFC 3339)." }),
            finishedAt: str({ format: "date-time", description: "When training finished (RFC 3339)." }),
          },
          [],
          { description: "Facts of the training run, covered by the signature like the rest of the spec." },
        ),
        signatures: arr(signatureSchema, {
          maxItems: 16,
          description:
            "Signatures over the spec (ed25519, `modelchain sign`) or over the artifact (oms); a trust policy says which signers count.",
        }),
        revoked: obj(
          {
            reason: str({ minLength: 1, description: "Why the model must not be served." }),
            revokedAt: str({ format: "date-time", description: "When it was revoked (RFC 3339)." }),
          },
          ["reason"],
          {
            description:
              "Revokes this version: recorded in the ledger as ModelVersionRevoked, after which it and its descendants fail lineage for good. Not covered by the signature; removing it lifts nothing (see reinstated).",
          },
        ),
        reinstated: obj(
          {
            reason: str({ minLength: 1, description: "Why the revocation is lifted." }),
            revocationIndex: int({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "Ledger index of the revocation this lifts (status.revocation.ledgerIndex).",
            }),
            keyId: str({ minLength: 1, description: "Id of the reinstatement key that signed." }),
            signature: str({
              pattern: "^[A-Za-z0-9+/]+={0,2}$",
              description: "base64 ed25519 signature by that key (`modelchain reinstate`).",
            }),
          },
          ["reason", "revocationIndex", "keyId", "signature"],
          {
            description:
              "Lifts one recorded revocation, signed by a key a ModelTrustPolicy lists in revocation.reinstatementKeys.",
          },
        ),
      },
      ["model", "version", "artifact"],
      { description: "What the producer vouches for: the artifact, its lineage and the training run." },
    ),
    status: obj(
      {
        observedGeneration: observedGeneration(),
        revocation: obj(
          {
            ledgerIndex: int({ minimum: 0, description: "Ledger index of the ModelVersionRevoked entry." }),
            reason: str({ description: "The reason recorded with it." }),
            artifactDigest: str({
              pattern: DIGEST_PATTERN,
              description: "Set when the revocation came from a revoked artifact digest (ArtifactRevoked).",
            }),
          },
          ["ledgerIndex", "reason"],
          { description: "The revocation in force, as the ledger recorded it." },
        ),
        conditions,
        specDigest: str({
          pattern: DIGEST_PATTERN,
          description:
            "sha256 of the signed part of the spec (RFC 8785 JSON without signatures, revoked, reinstated).",
        }),
        ledger: ledgerReference,
        lineageDepth: int({ minimum: 0, description: "Generations of parents above this version." }),
      },
      [],
      {
        description: "What the operator observed: the verdict, the ledger entry and the revocation in force.",
      },
    ),
  },
  ["spec"],
);
