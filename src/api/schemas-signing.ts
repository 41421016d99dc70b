// Schemas of what signs a ModelVersion and what a trust policy trusts: modelchain's own ed25519
// signatures, OpenSSF Model Signing (OMS) bundles, and the trust roots that verify them.
import { DNS_LABEL_PATTERN, arr, exactlyOne, int, obj, str, type Schema } from "./schema-dsl.ts";

/** A Kubernetes key name (ConfigMap/Secret data key). */
const dataKey = (what: string): Schema =>
  str({ minLength: 1, maxLength: 253, pattern: "^[-._a-zA-Z0-9]+$", description: `The key of the ${what}.` });
const objectName = (what: string): Schema =>
  str({ minLength: 1, maxLength: 253, description: `The ${what}'s name.` });

const keyRef = (what: string): Schema =>
  obj({ name: objectName(what), key: dataKey(what) }, ["name", "key"], {
    description: `A key of a ${what} in the ModelVersion's namespace whose value is the bundle JSON (model-signing's model.sig). The ${what} must carry the label modelchain.io/trust-material for the webhook to see it.`,
  });

/** Bundles are small (about 200 bytes per file of the model) but must fit in an object. */
export const MAX_BUNDLE_BYTES = 1_048_576;

const SIGNATURE_SHAPE =
  "has(self.type) && self.type == 'oms' ? " +
  `(${exactlyOne(["bundle", "configMapKeyRef", "secretKeyRef"])}) && !has(self.keyId) && !has(self.signature) : ` +
  "has(self.keyId) && has(self.signature) && !has(self.bundle) && !has(self.configMapKeyRef) && !has(self.secretKeyRef)";

export const signatureSchema: Schema = obj(
  {
    type: str({
      enum: ["ed25519", "oms"],
      description:
        "ed25519 (the default): modelchain's own signature over the canonical spec (keyId, signature). oms: an OpenSSF Model Signing / Sigstore bundle over the artifact directory (bundle, configMapKeyRef or secretKeyRef).",
    }),
    keyId: str({ minLength: 1, description: "ed25519: id of the signing key (modelchain keygen)." }),
    signature: str({
      pattern: "^[A-Za-z0-9+/]+={0,2}$",
      description: "ed25519: base64 signature over the canonical JSON of the spec without signatures.",
    }),
    bundle: str({
      minLength: 2,
      maxLength: MAX_BUNDLE_BYTES,
      description: "oms: the Sigstore bundle JSON inline, as `model_signing sign` wrote it.",
    }),
    configMapKeyRef: keyRef("ConfigMap"),
    secretKeyRef: keyRef("Secret"),
  },
  [],
  {
    "x-kubernetes-validations": [
      {
        rule: SIGNATURE_SHAPE,
        message:
          "an ed25519 signature has keyId and signature; an oms signature has exactly one of bundle, configMapKeyRef, secretKeyRef",
      },
    ],
  },
);

const identity = obj(
  {
    issuer: str({ minLength: 1, description: "The certificate's OIDC issuer (Fulcio extension), exactly." }),
    issuerRegExp: str({ minLength: 1, description: "A regular expression the whole issuer must match." }),
    subject: str({
      minLength: 1,
      description: "The certificate's subject alternative name (email or URI), exactly.",
    }),
    subjectRegExp: str({ minLength: 1, description: "A regular expression the whole subject must match." }),
  },
  [],
  {
    "x-kubernetes-validations": [
      {
        rule: `${exactlyOne(["issuer", "issuerRegExp"])} && ${exactlyOne(["subject", "subjectRegExp"])}`,
        message:
          "an identity has exactly one of issuer, issuerRegExp and exactly one of subject, subjectRegExp",
      },
    ],
  },
);

const keyless = obj(
  {
    trustedRoot: obj(
      {
        configMapKeyRef: obj(
          {
            namespace: str({ pattern: DNS_LABEL_PATTERN, description: "The ConfigMap's namespace." }),
            name: objectName("ConfigMap"),
            key: dataKey("ConfigMap"),
          },
          ["namespace", "name", "key"],
          { description: "The ConfigMap key that holds trusted_root.json." },
        ),
      },
      ["configMapKeyRef"],
      {
        description:
          "A Sigstore trusted_root.json (certificate authorities, transparency and CT logs, timestamp authorities) in a ConfigMap labelled modelchain.io/trust-material. Read from the cluster, never fetched from the network.",
      },
    ),
    identities: arr(identity, {
      minItems: 1,
      maxItems: 64,
      description: "Any one of these signers is trusted.",
    }),
  },
  ["trustedRoot", "identities"],
  {
    description:
      "Sigstore keyless signing: signing certificates issued by a certificate authority of the trusted root to one of the identities.",
  },
);

const trustRoot = obj(
  {
    name: str({
      minLength: 1,
      maxLength: 63,
      pattern: DNS_LABEL_PATTERN,
      description: "Names the root in verdicts; signers are counted per root and identity.",
    }),
    publicKey: str({
      pattern: "-----BEGIN PUBLIC KEY-----",
      description:
        "PEM (SPKI) public key: ECDSA P-256/P-384, ed25519 or RSA. Verifies bundles written by `model_signing sign key`; such bundles carry no transparency log entry nor timestamp.",
    }),
    certificateAuthority: obj(
      {
        certificates: str({
          pattern: "-----BEGIN CERTIFICATE-----",
          description:
            "PEM CA certificates: the root and every intermediate a signing certificate chains through. Verifies bundles written by `model_signing sign certificate`; they carry no timestamp, so the chain is checked at admission time.",
        }),
      },
      ["certificates"],
      { description: "A private CA whose certificates sign bundles (`model_signing sign certificate`)." },
    ),
    keyless,
  },
  ["name"],
  {
    "x-kubernetes-validations": [
      {
        rule: exactlyOne(["publicKey", "certificateAuthority", "keyless"]),
        message: "a trust root has exactly one of publicKey, certificateAuthority, keyless",
      },
    ],
  },
);

export const trustRootsSchema: Schema = arr(trustRoot, {
  maxItems: 64,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["name"],
  description: "Roots that verify OMS (OpenSSF Model Signing) bundles, besides trustedKeys.",
});

export const requiredSignersSchema: Schema = int({
  minimum: 1,
  maximum: 16,
  default: 1,
  description:
    "How many distinct signers (an ed25519 key, a trust root's key, a certificate subject under a root) must sign a ModelVersion.",
});

export const trustedKeysRule: Schema = {
  rule: "(has(self.trustedKeys) && size(self.trustedKeys) > 0) || (has(self.trustRoots) && size(self.trustRoots) > 0)",
  message: "a policy trusts something: give trustedKeys or trustRoots",
};
