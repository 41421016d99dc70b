// The rollout log's ConfigChanged names what changed: a diff between the redacted configs the
// two rollouts' RolloutStarted entries recorded, values as digests, and the generation acted on.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryLedger, type LedgerEntry } from "../../src/ledger/index.ts";
import { redactedConfig } from "../../src/controller/deployment-spec.ts";
import {
  entryFor,
  RolloutLog,
  type ObservedWorkload,
  type RolloutRecord,
  type TrailWriter,
} from "../../src/trail/index.ts";

const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const subject = {
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelDeployment",
  metadata: { name: "md", namespace: "ml", uid: "md-uid" },
};

function writerOver(ledger: MemoryLedger): TrailWriter {
  return {
    record: async (object, recorded) => {
      const [receipt] = await ledger.append([entryFor(object, recorded, "c1", new Date(0))]);
      if (receipt === undefined) throw new Error("no receipt");
      return receipt;
    },
    recorded: async (key) => (await ledger.lookup(key)) !== undefined,
    recordedData: async (key) => {
      const r = await ledger.lookup(key);
      return r === undefined ? undefined : (await ledger.get(r.index)).envelope.entry.data;
    },
  };
}

function observed(logLevel: string, temperature: string, generation: number): ObservedWorkload {
  const serving = { env: [{ name: "LOG_LEVEL", value: logLevel }], configMaps: { tuning: { temperature } } };
  return {
    subject,
    workload: "md-uid",
    modelVersion: "mv",
    modelSpecDigest: "sha256:m",
    templateHash: sha(`${logLevel}/${temperature}`).slice(7, 23),
    images: { server: "img@sha256:1" },
    configHash: sha(`${logLevel}/${temperature}`),
    config: redactedConfig(serving),
    generation,
  };
}

async function entries(ledger: MemoryLedger): Promise<LedgerEntry[]> {
  const size = await ledger.size();
  return Promise.all(Array.from({ length: size }, async (_, i) => (await ledger.get(i)).envelope.entry));
}

function logOver(ledger: MemoryLedger, writer = writerOver(ledger)) {
  let records: readonly RolloutRecord[] = [];
  return new RolloutLog({
    store: { load: () => records, persist: async (r) => void (records = [...r]) },
    writer,
    clock: () => new Date(0),
  });
}

describe("ConfigChanged", () => {
  it("carries a diff that names the env variable and the ConfigMap key, values as digests, and the generation", async () => {
    const ledger = new MemoryLedger();
    const log = logOver(ledger);
    await log.pass(observed("info", "0.7", 1), async () => "completed");
    await log.pass(observed("debug", "0.7", 2), async () => "completed");
    await log.pass(observed("debug", "0.2", 2), async () => "completed");
    const changes = (await entries(ledger)).filter((e) => e.kind === "ConfigChanged");
    expect(changes.map((e) => e.data)).toEqual([
      expect.objectContaining({
        generation: 2,
        diff: [{ op: "replace", path: "/env/LOG_LEVEL/value", value: sha("debug") }],
      }),
      expect.objectContaining({
        generation: 2,
        diff: [{ op: "replace", path: "/configMaps/tuning/temperature", value: sha("0.2") }],
      }),
    ]);
    expect(JSON.stringify(await entries(ledger))).not.toMatch(/"debug"|"0\.2"|"0\.7"|"info"/);
  });

  it("keeps from/to, and records a null diff when the rollout before predates recorded configs", async () => {
    const ledger = new MemoryLedger();
    const log = logOver(ledger);
    const { config: _config, ...old } = observed("info", "0.7", 1);
    await log.pass(old, async () => "completed");
    await log.pass(observed("debug", "0.7", 2), async () => "completed");
    const [change] = (await entries(ledger)).filter((e) => e.kind === "ConfigChanged");
    expect(change?.data).toMatchObject({ from: sha("info/0.7"), to: sha("debug/0.7"), diff: null });
  });

  it("after a lost acknowledgement, compares the configs as recorded and appends nothing twice", async () => {
    const ledger = new MemoryLedger();
    const writer = writerOver(ledger);
    let lose = false;
    const lossy: TrailWriter = {
      ...writer,
      record: async (o, r) => {
        const receipt = await writer.record(o, r);
        if (lose && r.kind === "RolloutStarted") throw new Error("injected: acknowledgement lost");
        return receipt;
      },
    };
    const log = logOver(ledger, lossy);
    await log.pass(observed("info", "0.7", 1), async () => "completed");
    lose = true;
    await expect(log.pass(observed("debug", "0.7", 2), async () => "completed")).rejects.toThrow(/lost/);
    lose = false;
    await log.pass(observed("debug", "0.7", 2), async () => "completed");
    const kinds = (await entries(ledger)).map((e) => e.kind);
    expect(kinds).toEqual([
      "RolloutStarted",
      "RolloutCompleted",
      "RolloutStarted",
      "ConfigChanged",
      "RolloutCompleted",
    ]);
    const change = (await entries(ledger)).find((e) => e.kind === "ConfigChanged");
    expect(change?.data["diff"]).toEqual([
      { op: "replace", path: "/env/LOG_LEVEL/value", value: sha("debug") },
    ]);
  });
});
