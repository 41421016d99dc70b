// What a rollout changed against the one before it, read from the ledger: each RolloutStarted
// keeps its redacted serving config, so a ConfigChanged diff compares what was recorded for the
// two rollouts, whichever pass (or restart) gets to record it. Pure but for the reads it is given.
import { changedPaths, jsonPatch, type PatchOp } from "./changes.ts";

/** The data recorded under a key (the ledger's copy), or undefined when there is none. */
export type RecordedData = (key: string) => Promise<Record<string, unknown> | undefined>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The redacted config and generation a RolloutStarted recorded (older entries have neither). */
export interface StartFacts {
  config: Record<string, unknown> | undefined;
  generation: number | undefined;
}

export function startFacts(data: Record<string, unknown> | undefined): StartFacts {
  const config = data?.["config"];
  const generation = data?.["generation"];
  return {
    config: isObject(config) ? config : undefined,
    generation: typeof generation === "number" ? generation : undefined,
  };
}

/** RFC 6902 from one rollout's recorded config to the next; null when either was not recorded. */
export function configDiff(from: StartFacts, to: StartFacts): PatchOp[] | null {
  if (from.config === undefined || to.config === undefined) return null;
  return jsonPatch(from.config, to.config);
}

/** The Event text of a config change: the paths that changed (names only; values are digests). */
export function configChangeMessage(from: string, to: string, diff: PatchOp[] | null): string {
  const where = diff === null ? "" : ` at ${changedPaths(diff).join(", ") || "(no field)"}`;
  return `serving config ${from} -> ${to}${where}`;
}
