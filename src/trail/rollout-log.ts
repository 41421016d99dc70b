// The rollout log: one state machine for recording every rollout of a workload exactly once,
// whatever keeps its state (a ModelDeployment's status, a labelled Deployment's annotation).
//
//   decide   a new template hash is a new rollout: revision + 1, persisted before anything is
//            recorded, so a crash leaves the decision behind and the next pass finishes it
//   start    RolloutStarted, then ImageDigestChanged / ConfigChanged against the rollout before
//            it; once the start is in the ledger the rollout counts as having happened
//   outcome  RolloutCompleted or RolloutFailed, once the workload says which
//
// Every entry's key is derived from the workload and the rollout (revision + template hash),
// so a pass repeated after a lost acknowledgement or a restart appends nothing new.
import type { Receipt } from "../ledger/index.ts";
import type { Involved } from "./entry.ts";
import { keyOf, recording, type Images, type Recording, type RolloutId } from "./kinds.ts";
import { configChangeMessage, configDiff, startFacts, type StartFacts } from "./rollout-changes.ts";

export type RolloutPhase = "Started" | "Completed" | "Failed";
export type RolloutOutcome = "progressing" | "completed" | "failed";

export interface RolloutRecord {
  revision: number;
  templateHash: string;
  images: Images;
  configHash: string;
  phase: RolloutPhase;
  /** False between deciding a rollout (persisted) and recording its start. */
  recorded: boolean;
  /** The last ledger entry recorded for this rollout. */
  ledgerIndex?: number;
  startedAt?: string;
  finishedAt?: string;
}

/** Where a workload's rollout records are kept, oldest first. Only the last may be unrecorded. */
export interface RolloutStore {
  load(): readonly RolloutRecord[];
  persist(records: readonly RolloutRecord[]): Promise<void>;
}

/** What the log writes through: the ledger (and Events), by recording. */
export interface TrailWriter {
  record(subject: Involved, recorded: Recording): Promise<Receipt>;
  recorded(key: string): Promise<boolean>;
  /** The data of the entry recorded under `key`, or undefined when there is none. */
  recordedData(key: string): Promise<Record<string, unknown> | undefined>;
}

/** The workload as observed now. */
export interface ObservedWorkload {
  subject: Involved;
  /** Its uid (name where it has none): the keys' workload part. */
  workload: string;
  modelVersion: string;
  modelSpecDigest: string;
  templateHash: string;
  images: Images;
  configHash: string;
  /** The serving config, redacted (env values and ConfigMap data as digests): what diffs are taken of. */
  config?: Record<string, unknown>;
  /** metadata.generation: joins the entries to the ChangeAdmitted of that generation. */
  generation?: number;
}

export interface RolloutLogDeps {
  store: RolloutStore;
  writer: TrailWriter;
  clock: () => Date;
}

export interface RolloutPass {
  current: RolloutRecord;
  records: RolloutRecord[];
}

const idOf = (w: ObservedWorkload, r: RolloutRecord): RolloutId => ({
  workload: w.workload,
  revision: r.revision,
  templateHash: r.templateHash,
});

const sameImages = (a: Images, b: Images): boolean =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

export class RolloutLog {
  private readonly deps: RolloutLogDeps;

  constructor(deps: RolloutLogDeps) {
    this.deps = deps;
  }

  /**
   * Decides and records the rollout the workload is in, then calls `apply` (which brings the
   * workload to it and says how it stands), then records the outcome once there is one.
   */
  async pass(
    w: ObservedWorkload,
    apply: (current: RolloutRecord) => Promise<RolloutOutcome>,
  ): Promise<RolloutPass> {
    const records = await this.settle(w, [...this.deps.store.load()]);
    let current = records.at(-1);
    if (current?.templateHash !== w.templateHash) {
      current = this.decide(w, current);
      records.push(current);
      await this.deps.store.persist(records);
    }
    if (!current.recorded) current = await this.recordStart(w, records.at(-2), current);
    records[records.length - 1] = current;
    const outcome = await apply(current);
    if (current.phase === "Started" && outcome !== "progressing") {
      current = await this.recordOutcome(w, current, outcome);
      records[records.length - 1] = current;
    }
    return { current, records };
  }

  /**
   * Brings the last record up to date with the ledger before the workload moves on from it.
   * Decided but not recorded: if its start reached the ledger (the acknowledgement was lost) it
   * happened, and the rest is recorded with the same keys; if not, it never happened. Started
   * with an outcome already in the ledger: the outcome is taken in (and its Event emitted).
   */
  private async settle(w: ObservedWorkload, records: RolloutRecord[]): Promise<RolloutRecord[]> {
    let last = records.at(-1);
    if (last === undefined || last.templateHash === w.templateHash) return records;
    const before = records.slice(0, -1);
    if (!last.recorded) {
      if (!(await this.deps.writer.recorded(keyOf("RolloutStarted", idOf(w, last))))) return before;
      last = await this.recordStart(w, before.at(-1), last);
    }
    if (last.phase === "Started") last = await this.recordedOutcome(w, last);
    return [...before, last];
  }

  /** The rollout with its outcome, where the ledger already has one. */
  private async recordedOutcome(w: ObservedWorkload, rollout: RolloutRecord): Promise<RolloutRecord> {
    for (const outcome of ["completed", "failed"] as const) {
      const kind = outcome === "completed" ? "RolloutCompleted" : "RolloutFailed";
      if (await this.deps.writer.recorded(keyOf(kind, idOf(w, rollout))))
        return this.recordOutcome(w, rollout, outcome);
    }
    return rollout;
  }

  private decide(w: ObservedWorkload, previous: RolloutRecord | undefined): RolloutRecord {
    return {
      revision: (previous?.revision ?? 0) + 1,
      templateHash: w.templateHash,
      images: w.images,
      configHash: w.configHash,
      phase: "Started",
      recorded: false,
      startedAt: this.deps.clock().toISOString(),
    };
  }

  /**
   * The start first (it marks the rollout as having happened), then what changed since the one
   * before. The config and generation of both come from their RolloutStarted entries, so a start
   * found in the ledger after a lost acknowledgement is compared as it was recorded.
   */
  private async recordStart(
    w: ObservedWorkload,
    previous: RolloutRecord | undefined,
    next: RolloutRecord,
  ): Promise<RolloutRecord> {
    const id = idOf(w, next);
    const { revision } = next;
    const { modelVersion } = w;
    const started = recording(
      "RolloutStarted",
      id,
      {
        revision,
        modelVersion,
        modelSpecDigest: w.modelSpecDigest,
        images: next.images,
        configHash: next.configHash,
        templateHash: next.templateHash,
        ...(w.generation === undefined ? {} : { generation: w.generation }),
        ...(w.config === undefined ? {} : { config: w.config }),
      },
      `rollout ${revision} of ${modelVersion} with ${describeImages(next.images)}`,
    );
    const receipt = await this.deps.writer.record(w.subject, started);
    if (previous === undefined) return { ...next, recorded: true, ledgerIndex: receipt.index };
    const facts = startFacts(
      receipt.duplicate ? await this.deps.writer.recordedData(started.key) : started.data,
    );
    const generation = facts.generation === undefined ? {} : { generation: facts.generation };
    if (!sameImages(previous.images, next.images)) {
      const data = { revision, modelVersion, from: previous.images, to: next.images, ...generation };
      const message = `image ${describeImages(previous.images)} -> ${describeImages(next.images)}`;
      await this.deps.writer.record(w.subject, recording("ImageDigestChanged", id, data, message));
    }
    if (previous.configHash !== next.configHash) {
      const diff = configDiff(await this.previousFacts(w, previous), facts);
      const { configHash: from } = previous;
      const data = { revision, modelVersion, from, to: next.configHash, diff, ...generation };
      const message = configChangeMessage(from, next.configHash, diff);
      await this.deps.writer.record(w.subject, recording("ConfigChanged", id, data, message));
    }
    return { ...next, recorded: true, ledgerIndex: receipt.index };
  }

  private async previousFacts(w: ObservedWorkload, previous: RolloutRecord): Promise<StartFacts> {
    return startFacts(await this.deps.writer.recordedData(keyOf("RolloutStarted", idOf(w, previous))));
  }

  private async recordOutcome(
    w: ObservedWorkload,
    rollout: RolloutRecord,
    outcome: "completed" | "failed",
  ): Promise<RolloutRecord> {
    const data = {
      revision: rollout.revision,
      templateHash: rollout.templateHash,
      images: rollout.images,
      configHash: rollout.configHash,
    };
    const finished =
      outcome === "completed"
        ? recording("RolloutCompleted", idOf(w, rollout), data, `rollout ${rollout.revision} completed`)
        : recording(
            "RolloutFailed",
            idOf(w, rollout),
            data,
            `rollout ${rollout.revision} failed: progress deadline exceeded`,
          );
    const receipt = await this.deps.writer.record(w.subject, finished);
    return {
      ...rollout,
      phase: outcome === "completed" ? "Completed" : "Failed",
      ledgerIndex: receipt.index,
      finishedAt: this.deps.clock().toISOString(),
    };
  }
}

/** One image as itself; several as `name=image` pairs. */
export function describeImages(images: Images): string {
  const entries = Object.entries(images).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 1) return entries[0]?.[1] ?? "";
  return entries.map(([name, image]) => `${name}=${image}`).join(", ");
}
