// The Kubernetes name of an imported MLflow model version, derived from the MLflow name and
// version alone (pure), so that every import of the same version, and every child naming it as
// a parent, arrives at the same ModelVersion name.
//
// - The registered model's name, lowercased; every run of characters other than a-z and 0-9
//   becomes one "-", and leading or trailing "-" go: `Fraud Detector` → `fraud-detector`.
// - When that changed the name (case, spaces, dots, underscores, non-ASCII…), the first 8 hex
//   of SHA-256 of the MLflow name (UTF-8) are appended, so that `Fraud Detector`,
//   `fraud_detector` and `fraud-detector` stay three names: `fraud-detector-3f1c0a9e`.
// - Then `-v<version>`: `fraud-detector-v3`, `fraud-detector-3f1c0a9e-v3`.
// - At most 63 characters (a label value: `modelchain.io/model-version=<name>` opts a Deployment
//   in): a longer name is cut and always carries the hash. A name with no a-z0-9 at all is
//   `mlflow-<hash>`.
import { createHash } from "node:crypto";

const MAX_NAME = 63;

function nameHash(name: string): string {
  return createHash("sha256").update(name, "utf8").digest("hex").slice(0, 8);
}

function trimDashes(s: string): string {
  return s.replace(/^-+|-+$/g, "");
}

export function kubernetesName(model: string, version: string): string {
  const suffix = `-v${version.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const base = trimDashes(model.toLowerCase().replace(/[^a-z0-9]+/g, "-"));
  const hashed = base !== model || base === "";
  if (!hashed && base.length + suffix.length <= MAX_NAME) return `${base}${suffix}`;
  const tail = `-${nameHash(model)}${suffix}`;
  const head = trimDashes(base.slice(0, MAX_NAME - tail.length)) || "mlflow";
  return `${head}${tail}`;
}
