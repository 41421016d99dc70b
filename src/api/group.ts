// The modelchain.io API group: names every component agrees on.
export const GROUP = "modelchain.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Existing Deployments opt in to gating and recording with this label. */
export const MODEL_VERSION_LABEL = "modelchain.io/model-version";
/** ConfigMaps/Secrets holding OMS bundles or Sigstore trusted roots; only these are read. */
export const TRUST_MATERIAL_LABEL = "modelchain.io/trust-material";
/** Annotations the operator writes on the Deployments it owns or watches. */
export const ANNOTATIONS = {
  modelVersion: "modelchain.io/model-version",
  specDigest: "modelchain.io/spec-digest",
  ledgerIndex: "modelchain.io/ledger-index",
  configHash: "modelchain.io/config-hash",
} as const;
export const FINALIZER = "modelchain.io/ledger-record";

export interface ResourceNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
}

export const MODEL_VERSION: ResourceNames = {
  kind: "ModelVersion",
  plural: "modelversions",
  singular: "modelversion",
  shortNames: ["mv"],
  namespaced: true,
};
export const MODEL_DEPLOYMENT: ResourceNames = {
  kind: "ModelDeployment",
  plural: "modeldeployments",
  singular: "modeldeployment",
  shortNames: ["md"],
  namespaced: true,
};
export const MODEL_TRUST_POLICY: ResourceNames = {
  kind: "ModelTrustPolicy",
  plural: "modeltrustpolicies",
  singular: "modeltrustpolicy",
  shortNames: ["mtp"],
  namespaced: false,
};
