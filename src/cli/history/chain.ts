// The auditor's view of one workload (a ModelDeployment or a labelled Deployment) or one
// ModelVersion: every ledger entry that explains it, oldest first, grouped by cluster and object
// uid (an object deleted and created again under the same name is another group) — datasets →
// model versions (with parents) → image digests → admitted changes, denials, rollouts and config
// changes — each with its index, its actor and a verified inclusion proof.
import { hashFromHex, verifyInclusion, type Ledger, type LedgerEntry } from "../../ledger/index.ts";
import { ChangeJoin, actorText, type Indexed } from "./joins.ts";
import { imagesOf, summarize } from "./summary.ts";

export type HistoryKind = "ModelDeployment" | "Deployment" | "ModelVersion";
export const HISTORY_KINDS: readonly HistoryKind[] = ["ModelDeployment", "Deployment", "ModelVersion"];

export interface HistoryQuery {
  kind: HistoryKind;
  namespace: string;
  name: string;
  /** Only entries of this cluster; all clusters when absent. */
  cluster?: string;
  /** Only this object uid; every uid recorded under the name when absent. */
  uid?: string;
  /** The tree size to read and prove against (default: the ledger's size now). */
  size?: number;
}

export interface ChainItem {
  index: number;
  kind: string;
  cluster: string;
  subject: string;
  uid: string | null;
  observedAt: string;
  summary: string;
  /** Who acted: the entry's own actor (webhook entries) or that of the change it follows from. */
  actor: string | null;
  /** Ledger indexes of the ChangeAdmitted entries this one follows from. */
  causedBy: number[];
  leafHash: string;
  /** RFC 6962 audit path (hex, leaf to root) to the history's root at its size. */
  auditPath: string[];
  proofVerified: boolean;
  data: Record<string, unknown>;
}

export interface DatasetItem {
  name: string;
  uri: string;
  digest: string | null;
  usedBy: string;
  index: number;
}

export interface HistoryGroup {
  cluster: string;
  uid: string | null;
  datasets: DatasetItem[];
  modelVersions: ChainItem[];
  imageDigests: string[];
  events: ChainItem[];
}

export interface History {
  target: string;
  size: number;
  root: string;
  filters: { cluster: string | null; uid: string | null };
  groups: HistoryGroup[];
  /** A file ledger's latest published checkpoint, signed by its key, which the ledger extends. */
  checkpoint?: { size: number; root: string; keyId: string; timestamp: string };
}

interface Leaf extends Indexed {
  leafHash: string;
}

const nameOf = (e: LedgerEntry) => `${e.subject.namespace ?? ""}/${e.subject.name}`;
const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Model versions a workload served, and their ancestors, from the entries of one cluster. */
function servedModels(
  entries: readonly Leaf[],
  namespace: string,
  events: readonly LedgerEntry[],
): Set<string> {
  const wanted = new Set(
    events
      .map((e) => str(e.data["modelVersion"]))
      .filter((n) => n !== "")
      .map((n) => `${namespace}/${n}`),
  );
  for (let grew = true; grew;) {
    grew = false;
    for (const { entry } of entries) {
      if (entry.kind !== "ModelVersionRegistered" || !wanted.has(nameOf(entry))) continue;
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

async function readAll(ledger: Ledger, size: number): Promise<Leaf[]> {
  const leaves: Leaf[] = [];
  for (let index = 0; index < size; index++) {
    const leaf = await ledger.get(index);
    leaves.push({ index, entry: leaf.envelope.entry, leafHash: leaf.leafHash });
  }
  return leaves;
}

interface Prover {
  (leaf: Leaf): Promise<ChainItem>;
}

function prover(ledger: Ledger, size: number, root: string, join: ChangeJoin, byIndex: Leaf[]): Prover {
  return async (leaf) => {
    const { index, entry, leafHash } = leaf;
    const proof = await ledger.inclusionProof(index, size);
    let proofVerified = true;
    try {
      const path = proof.auditPath.map((h) => hashFromHex(h));
      verifyInclusion(index, size, hashFromHex(leafHash), path, hashFromHex(root));
    } catch {
      proofVerified = false;
    }
    const causes = join.causes(leaf);
    const own = actorText(entry.data["actor"]);
    const caused = causes
      .map((c) => actorText(byIndex[c.index]?.entry.data["actor"]))
      .filter((a) => a !== null);
    return {
      index,
      kind: entry.kind,
      cluster: entry.cluster,
      subject: `${entry.subject.kind} ${nameOf(entry)}`,
      uid: entry.subject.uid ?? null,
      observedAt: entry.observedAt,
      summary: summarize(entry),
      actor: own ?? (caused.length > 0 ? [...new Set(caused)].join(", ") : null),
      causedBy: causes.map((c) => c.index),
      leafHash,
      auditPath: proof.auditPath,
      proofVerified,
      data: entry.data,
    };
  };
}

function isTarget(q: HistoryQuery, e: LedgerEntry): boolean {
  return e.subject.kind === q.kind && e.subject.namespace === q.namespace && e.subject.name === q.name;
}

/** The group of one cluster and uid: its events, with the ConfigMap changes they follow from. */
async function group(
  cluster: string,
  uid: string | null,
  events: Leaf[],
  all: readonly Leaf[],
  ctx: { q: HistoryQuery; prove: Prover; join: ChangeJoin },
): Promise<HistoryGroup> {
  const ofCluster = all.filter((l) => l.entry.cluster === cluster);
  const causes = events.flatMap((l) => ctx.join.causes(l)).map((c) => c.index);
  const extra = ofCluster.filter((l) => causes.includes(l.index) && !events.includes(l));
  const merged = [...events, ...extra].sort((a, b) => a.index - b.index);
  const models =
    ctx.q.kind === "ModelVersion"
      ? new Set<string>()
      : servedModels(
          ofCluster,
          ctx.q.namespace,
          events.map((l) => l.entry),
        );
  const modelLeaves = ofCluster.filter(
    (l) => l.entry.kind === "ModelVersionRegistered" && models.has(nameOf(l.entry)),
  );
  const datasets = modelLeaves.flatMap(({ index, entry }) =>
    (Array.isArray(entry.data["datasets"]) ? entry.data["datasets"] : []).map(
      (d: Record<string, unknown>) => ({
        name: str(d["name"]),
        uri: str(d["uri"]),
        digest: typeof d["digest"] === "string" ? d["digest"] : null,
        usedBy: nameOf(entry),
        index,
      }),
    ),
  );
  const images = events
    .filter((l) => l.entry.kind === "RolloutStarted")
    .flatMap((l) => imagesOf(l.entry.data));
  return {
    cluster,
    uid,
    datasets,
    modelVersions: await Promise.all(modelLeaves.map(ctx.prove)),
    imageDigests: [...new Set(images)],
    events: await Promise.all(merged.map(ctx.prove)),
  };
}

export async function objectHistory(ledger: Ledger, q: HistoryQuery): Promise<History> {
  const size = q.size ?? (await ledger.size());
  const root = await ledger.root(size);
  const all = await readAll(ledger, size);
  const join = new ChangeJoin(all);
  const ctx = { q, prove: prover(ledger, size, root, join, all), join };
  const groups = new Map<string, { cluster: string; uid: string | null; events: Leaf[] }>();
  for (const leaf of all) {
    const { entry } = leaf;
    if (!isTarget(q, entry)) continue;
    if (q.cluster !== undefined && entry.cluster !== q.cluster) continue;
    if (q.uid !== undefined && entry.subject.uid !== q.uid) continue;
    const key = `${entry.cluster}\u0000${entry.subject.uid ?? ""}`;
    const g = groups.get(key) ?? { cluster: entry.cluster, uid: entry.subject.uid ?? null, events: [] };
    g.events.push(leaf);
    groups.set(key, g);
  }
  return {
    target: `${q.kind} ${q.namespace}/${q.name}`,
    size,
    root,
    filters: { cluster: q.cluster ?? null, uid: q.uid ?? null },
    groups: await Promise.all([...groups.values()].map((g) => group(g.cluster, g.uid, g.events, all, ctx))),
  };
}

/** The `namespace/name` an item's subject names. */
export const subjectName = (item: ChainItem): string => item.subject.slice(item.subject.indexOf(" ") + 1);

/** Every item of a history, for checking proofs. */
export function historyItems(h: History): ChainItem[] {
  return h.groups.flatMap((g) => [...g.modelVersions, ...g.events]);
}
