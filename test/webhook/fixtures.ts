// Small hand-built state for decision tests that do not need the samples.
import type { AdmissionRequest } from "../../src/webhook/review.ts";
import type {
  AdmissionState,
  EnforcementMode,
  LineageVerdict,
  ModelVersionView,
  TrustPolicyView,
} from "../../src/webhook/state.ts";

export const DIGEST = `sha256:${"a".repeat(64)}`;
export const PINNED = `registry.example/serve@${DIGEST}`;

export interface FakeMV {
  namespace: string;
  name: string;
  revoked?: boolean;
  specDigest?: string;
  verdict?: LineageVerdict;
}

function isFakeMV(o: unknown): o is FakeMV {
  return typeof o === "object" && o !== null && "name" in o && typeof o.name === "string" && "namespace" in o;
}

export function policy(
  name: string,
  mode: EnforcementMode,
  selects: (l: Readonly<Record<string, string>>) => boolean = () => true,
): TrustPolicyView {
  return { name, policy: null, mode, requiredChecks: ["signature", "datasetsPinned"], selects };
}

const PASS: LineageVerdict = {
  verified: true,
  checks: [{ name: "signature", passed: true, reason: "signed by team-a" }],
};

export function fakeState(mvs: FakeMV[], policies: TrustPolicyView[]): AdmissionState<FakeMV> {
  const byKey = new Map(mvs.map((m) => [`${m.namespace}/${m.name}`, m]));
  const view = (m: FakeMV): ModelVersionView => ({
    namespace: m.namespace,
    name: m.name,
    revoked: m.revoked ?? false,
    revokedReason: m.revoked ? "leaked weights" : "",
    specDigest: m.specDigest ?? DIGEST,
  });
  return {
    ledgerTip: { size: 7, root: "ab".repeat(32) },
    policies,
    namespaceLabels: (ns) => (ns === "ml" ? { team: "ml" } : { team: "other" }),
    modelVersion: (ns, name) => byKey.get(`${ns}/${name}`),
    viewModelVersion: (o) =>
      isFakeMV(o)
        ? { ok: true, view: view(o), object: o }
        : { ok: false, problem: "metadata.name is required" },
    verdict: (m) => m.verdict ?? PASS,
    signature: (m) => {
      const checks = (m.verdict ?? PASS).checks;
      return checks.find((c) => c.name === "signature") ?? { name: "signature", passed: true, reason: "" };
    },
    unrevocation: () => undefined,
  };
}

export function request(
  kind: "ModelDeployment" | "Deployment" | "ModelVersion",
  object: unknown,
  extra: Partial<AdmissionRequest> = {},
): AdmissionRequest {
  const group = kind === "Deployment" ? "apps" : "modelchain.io";
  const version = kind === "Deployment" ? "v1" : "v1alpha1";
  return {
    uid: "u-1",
    kind: { group, version, kind },
    operation: "CREATE",
    namespace: "ml",
    name: "x",
    object,
    oldObject: null,
    dryRun: false,
    ...extra,
  };
}

export function modelDeployment(modelVersion: string, image = PINNED, replicas = 1): unknown {
  return {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: "serve", namespace: "ml" },
    spec: { modelVersion, image, replicas },
  };
}

export function deployment(label: string | undefined, images: string[]): unknown {
  const labels = label === undefined ? {} : { "modelchain.io/model-version": label };
  const containers = images.map((image, i) => ({ name: `c${i}`, image }));
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d", namespace: "ml", labels },
    spec: { template: { spec: { containers } } },
  };
}
