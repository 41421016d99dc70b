// Who caused an operator's entry: the ChangeAdmitted it follows from. The webhook records each
// admitted change with the object's uid and the generation it will have; the operator's entries
// name the uid (subject) and the generation they acted on. A ConfigMap has no generation, so a
// config change that only touched ConfigMap keys joins to the last admitted change of that
// ConfigMap before it. Admission precedes the write, and a write can still fail after it: of
// several admitted changes for one generation, the last one before the entry is taken.
import type { LedgerEntry } from "../../ledger/index.ts";

export interface Indexed {
  index: number;
  entry: LedgerEntry;
}

const CONFIG_MAP_PATH = /^\/configMaps\/([^/]+)\//;

const objectKey = (cluster: string, uid: string | undefined): string => `${cluster}\u0000${uid ?? ""}`;
const nameKey = (e: LedgerEntry): string =>
  `${e.cluster}\u0000${e.subject.namespace ?? ""}\u0000${e.subject.name}`;

/** The ConfigMaps a ConfigChanged diff names, when it changed nothing else; undefined otherwise. */
function configMapsOnly(entry: LedgerEntry): string[] | undefined {
  const diff = entry.data["diff"];
  if (entry.kind !== "ConfigChanged" || !Array.isArray(diff) || diff.length === 0) return undefined;
  const names = diff.map((op: unknown) => {
    const path = typeof op === "object" && op !== null && "path" in op ? op.path : undefined;
    return typeof path === "string" ? CONFIG_MAP_PATH.exec(path)?.[1] : undefined;
  });
  if (names.some((n) => n === undefined)) return undefined;
  return [...new Set(names as string[])].map((n) => n.replaceAll("~1", "/").replaceAll("~0", "~"));
}

export class ChangeJoin {
  private readonly byObject = new Map<string, Indexed[]>();
  private readonly configMaps = new Map<string, Indexed[]>();

  constructor(entries: readonly Indexed[]) {
    for (const item of entries) {
      if (item.entry.kind !== "ChangeAdmitted") continue;
      const push = (map: Map<string, Indexed[]>, key: string) =>
        map.set(key, [...(map.get(key) ?? []), item]);
      push(this.byObject, objectKey(item.entry.cluster, item.entry.subject.uid));
      if (item.entry.subject.kind === "ConfigMap") push(this.configMaps, nameKey(item.entry));
    }
  }

  /** The ChangeAdmitted entries an entry follows from (none for the webhook's own entries). */
  causes(item: Indexed): Indexed[] {
    const { entry } = item;
    if (entry.kind === "ChangeAdmitted" || entry.kind === "AdmissionDenied") return [];
    const before = (list: Indexed[] | undefined) => (list ?? []).filter((c) => c.index < item.index);
    const maps = configMapsOnly(entry);
    if (maps !== undefined) {
      const ns = entry.subject.namespace ?? "";
      return maps.flatMap((name) => {
        const key = `${entry.cluster}\u0000${ns}\u0000${name}`;
        return before(this.configMaps.get(key)).slice(-1);
      });
    }
    const changes = before(this.byObject.get(objectKey(entry.cluster, entry.subject.uid)));
    const generation = entry.data["generation"];
    if (typeof generation !== "number") return changes.slice(-1);
    return changes.filter((c) => c.entry.data["generation"] === generation).slice(-1);
  }
}

/** An actor as one line: the user name, marked when it is a service account. */
export function actorText(actor: unknown): string | null {
  if (typeof actor !== "object" || actor === null || !("username" in actor)) return null;
  const name = typeof actor.username === "string" ? actor.username : "";
  const sa = "serviceAccount" in actor && actor.serviceAccount !== null ? " (service account)" : "";
  return `${name}${sa}`;
}
