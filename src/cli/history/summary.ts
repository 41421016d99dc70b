// One line per ledger entry, for people: what happened, in the entry's own terms.
import type { LedgerEntry } from "../../ledger/index.ts";
import { changedPaths, describeImages, type PatchOp } from "../../trail/index.ts";

const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);

/** The images a rollout entry names: v2 writes `images` (container -> image), v1 wrote `image`. */
export function imagesOf(data: Record<string, unknown>): string[] {
  const images = data["images"];
  if (typeof images === "object" && images !== null) return Object.values(images).map((v) => str(v));
  return data["image"] === undefined ? [] : [str(data["image"])];
}

/** An image change's side: one image string (v1) or a container -> image map (v2). */
function imageText(side: unknown): string {
  if (typeof side !== "object" || side === null) return str(side);
  return describeImages(Object.fromEntries(Object.entries(side).map(([k, v]) => [k, str(v)])));
}

function isPatch(v: unknown): v is PatchOp[] {
  return (
    Array.isArray(v) &&
    v.every((op) => typeof op === "object" && op !== null && "path" in op && typeof op.path === "string")
  );
}

/** The fields a diff changed, by path (values are digests where they could be secrets, so none are shown). */
function pathsText(diff: unknown, max = 6): string {
  if (!isPatch(diff)) return "";
  const paths = changedPaths(diff);
  const shown = paths.slice(0, max).join(", ");
  return paths.length > max ? `${shown} and ${paths.length - max} more` : shown;
}

function changeAdmitted(d: Record<string, unknown>): string {
  const generation = typeof d["generation"] === "number" ? ` (generation ${d["generation"]})` : "";
  const paths = pathsText(d["diff"]);
  return `${str(d["operation"])} admitted${generation}${paths === "" ? "" : `: ${paths}`}`;
}

function configChanged(d: Record<string, unknown>): string {
  const paths = pathsText(d["diff"]);
  return `${str(d["from"])} -> ${str(d["to"])}${paths === "" ? "" : ` at ${paths}`}`;
}

export function summarize(e: LedgerEntry): string {
  const d = e.data;
  switch (e.kind) {
    case "ModelVersionRegistered":
      return `${str(d["model"])} ${str(d["version"])} spec ${str(d["specDigest"])} parents [${(Array.isArray(d["parents"]) ? d["parents"] : []).join(", ")}] ${d["verified"] ? "verified" : "NOT verified"}`;
    case "ModelVersionRevoked":
      return `revoked: ${str(d["reason"])}`;
    case "RolloutStarted":
      return `revision ${str(d["revision"])} of ${str(d["modelVersion"])} with ${imagesOf(d).join(", ")}`;
    case "RolloutCompleted":
    case "RolloutFailed":
      return `revision ${str(d["revision"])} ${e.kind === "RolloutCompleted" ? "completed" : "failed"} (template ${str(d["templateHash"])})`;
    case "ImageDigestChanged":
      return `${imageText(d["from"])} -> ${imageText(d["to"])}`;
    case "ConfigChanged":
      return configChanged(d);
    case "ChangeAdmitted":
      return changeAdmitted(d);
    case "AdmissionDenied":
      return `${str(d["operation"])} ${d["enforced"] === true ? "denied" : `found (${str(d["mode"])})`}: ${str(d["message"])}`;
    default:
      return summarizeMore(e.kind, d);
  }
}

/** The kinds recorded about artifacts and reinstatements; anything else as its fields. */
function summarizeMore(kind: string, d: Record<string, unknown>): string {
  switch (kind) {
    case "ArtifactVerified":
      return `revision ${str(d["revision"])}: artifact ${str(d["digest"])} verified by the ${str(d["verifiedBy"])} in pod ${str(d["pod"])}`;
    case "ArtifactVerificationFailed":
      return `revision ${str(d["revision"])}: artifact in pod ${str(d["pod"])} is ${str(d["actual"])}, expected ${str(d["expected"])}${d["file"] === null || d["file"] === undefined ? "" : ` (first differing file ${str(d["file"])})`}`;
    case "ModelVersionReinstated":
      return `reinstated (revocation at entry ${str(d["revocationIndex"])} lifted), signed by ${str(d["signedBy"])}: ${str(d["reason"])}`;
    case "ArtifactRevoked":
      return `artifact ${str(d["digest"])} revoked by policy ${str(d["policy"])}: ${str(d["reason"])}`;
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}=${str(v)}`)
        .join(" ");
  }
}
