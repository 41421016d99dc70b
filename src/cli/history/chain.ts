// The auditor's view of one ModelDeployment: every ledger entry that explains what it ran,
// oldest first — datasets → model versions (with parents) → image digests → rollouts and
// config changes — each with its index and a verified inclusion proof.
import { describeImages } from "../../trail/index.ts";
import { hashFromHex, verifyInclusion, type Ledger, type LedgerEntry } from "../../ledger/index.ts";

export interface ChainItem {
  index: number;
  kind: string;
  subject: string;
  summary: string;
  leafHash: string;
  proofVerified: boolean;
}

export interface DatasetItem {
  name: string;
  uri: string;
  digest: string | null;
  usedBy: string;
  index: number;
}

export interface History {
  deployment: string;
  size: number;
  root: string;
  datasets: DatasetItem[];
  modelVersions: ChainItem[];
  imageDigests: string[];
  deploymentEvents: ChainItem[];
  /** A file ledger's latest published checkpoint, signed by its key, which the ledger extends. */
  checkpoint?: { size: number; root: string; keyId: string; timestamp: string };
}

const subjectOf = (e: LedgerEntry) => `${e.subject.namespace ?? ""}/${e.subject.name}`;
const str = (v: unknown): string =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);

function summarize(e: LedgerEntry): string {
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
      return `${str(d["from"])} -> ${str(d["to"])}`;
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}=${str(v)}`)
        .join(" ");
  }
}

/** The images a rollout entry names: v2 writes `images` (container -> image), v1 wrote `image`. */
function imagesOf(data: Record<string, unknown>): string[] {
  const images = data["images"];
  if (typeof images === "object" && images !== null) return Object.values(images).map((v) => str(v));
  return data["image"] === undefined ? [] : [str(data["image"])];
}

/** An image change's side: one image string (v1) or a container -> image map (v2). */
function imageText(side: unknown): string {
  if (typeof side !== "object" || side === null) return str(side);
  return describeImages(Object.fromEntries(Object.entries(side).map(([k, v]) => [k, str(v)])));
}

/** Model versions a deployment served, and their ancestors, from the recorded entries. */
function servedModels(
  entries: Array<{ index: number; entry: LedgerEntry }>,
  namespace: string,
  deploymentEntries: LedgerEntry[],
): Set<string> {
  const wanted = new Set(
    deploymentEntries
      .map((e) => str(e.data["modelVersion"]))
      .filter((n) => n !== "")
      .map((n) => `${namespace}/${n}`),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const { entry } of entries) {
      if (entry.kind !== "ModelVersionRegistered" || !wanted.has(subjectOf(entry))) continue;
      for (const parent of Array.isArray(entry.data["parents"]) ? entry.data["parents"] : []) {
        if (typeof parent === "string" && !wanted.has(parent)) {
          wanted.add(parent);
          grew = true;
        }
      }
    }
  }
  return wanted;
}

export async function deploymentHistory(ledger: Ledger, namespace: string, name: string): Promise<History> {
  const size = await ledger.size();
  const root = await ledger.root(size);
  const entries: Array<{ index: number; entry: LedgerEntry; leafHash: string }> = [];
  for (let index = 0; index < size; index++) {
    const leaf = await ledger.get(index);
    entries.push({ index, entry: leaf.envelope.entry, leafHash: leaf.leafHash });
  }
  const isDeployment = (e: LedgerEntry) =>
    e.subject.kind === "ModelDeployment" && e.subject.namespace === namespace && e.subject.name === name;
  const deploymentEntries = entries.filter(({ entry }) => isDeployment(entry));
  const models = servedModels(
    entries,
    namespace,
    deploymentEntries.map((d) => d.entry),
  );
  const modelEntries = entries.filter(
    ({ entry }) => entry.subject.kind === "ModelVersion" && models.has(subjectOf(entry)),
  );
  const prove = async ({
    index,
    entry,
    leafHash,
  }: {
    index: number;
    entry: LedgerEntry;
    leafHash: string;
  }): Promise<ChainItem> => {
    const proof = await ledger.inclusionProof(index, size);
    let proofVerified = true;
    try {
      verifyInclusion(
        index,
        size,
        hashFromHex(leafHash),
        proof.auditPath.map((h) => hashFromHex(h)),
        hashFromHex(root),
      );
    } catch {
      proofVerified = false;
    }
    return {
      index,
      kind: entry.kind,
      subject: subjectOf(entry),
      summary: summarize(entry),
      leafHash,
      proofVerified,
    };
  };
  const datasets = modelEntries.flatMap(({ index, entry }) =>
    (Array.isArray(entry.data["datasets"]) ? entry.data["datasets"] : []).map(
      (d: Record<string, unknown>) => ({
        name: str(d["name"]),
        uri: str(d["uri"]),
        digest: typeof d["digest"] === "string" ? d["digest"] : null,
        usedBy: subjectOf(entry),
        index,
      }),
    ),
  );
  const images = [
    ...new Set(
      deploymentEntries
        .filter(({ entry }) => entry.kind === "RolloutStarted")
        .flatMap(({ entry }) => imagesOf(entry.data)),
    ),
  ];
  return {
    deployment: `${namespace}/${name}`,
    size,
    root,
    datasets,
    modelVersions: await Promise.all(modelEntries.map(prove)),
    imageDigests: images,
    deploymentEvents: await Promise.all(deploymentEntries.map(prove)),
  };
}

export function historyText(h: History): string {
  const mark = (i: ChainItem) => (i.proofVerified ? "proof ok" : "PROOF FAILED");
  const lines = [
    `history of ModelDeployment ${h.deployment} (ledger size ${h.size}, root ${h.root})`,
    ...(h.checkpoint === undefined
      ? []
      : [
          `signed checkpoint: size ${h.checkpoint.size}, root ${h.checkpoint.root}, key ${h.checkpoint.keyId}, published ${h.checkpoint.timestamp}`,
        ]),
    "",
    "datasets:",
  ];
  for (const d of h.datasets)
    lines.push(`  ${d.name}  ${d.digest ?? "NOT PINNED"}  ${d.uri}  (used by ${d.usedBy}, entry ${d.index})`);
  lines.push("", "model versions:");
  for (const m of h.modelVersions)
    lines.push(`  [${m.index}] ${m.kind} ${m.subject}: ${m.summary}  (${mark(m)})`);
  lines.push("", "image digests:", ...h.imageDigests.map((i) => `  ${i}`), "", "rollouts and changes:");
  for (const e of h.deploymentEvents) lines.push(`  [${e.index}] ${e.kind}: ${e.summary}  (${mark(e)})`);
  return `${lines.join("\n")}\n`;
}
