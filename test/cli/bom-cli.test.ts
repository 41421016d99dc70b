// `modelchain bom` on the demo's ledger, as an auditor runs it: a CycloneDX ML-BOM the library's
// schema validator accepts, every component proven in the ledger, tied to the ledger's signed
// note; a tampered ledger or an ambiguous name gives no BOM at all.
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileLedger, parseVkey, type LedgerEntry } from "../../src/ledger/index.ts";
import { sampleEntry, tempDir } from "../ledger/fixtures.ts";
import { checkBom, inventory, schemaErrors, value, values, type Bom } from "./bom-checks.ts";
import { runCli } from "./run-cli.ts";

const state = tempDir("modelchain-bom-");
afterAll(() => state.remove());
const demoLedger = join(state.dir, "ledger");
const VLLM = `registry.example.com/serving/vllm@sha256:5d7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e`;

/** A copy of the demo's ledger to change. */
function copyOfDemo(): { dir: string; remove: () => void } {
  const copy = tempDir("modelchain-bom-copy-");
  cpSync(demoLedger, join(copy.dir, "ledger"), { recursive: true });
  return { dir: join(copy.dir, "ledger"), remove: copy.remove };
}

async function withLedger<T>(dir: string, use: (l: FileLedger) => Promise<T>): Promise<T> {
  const ledger = await FileLedger.open(dir, { readOnly: true });
  try {
    return await use(ledger);
  } finally {
    await ledger.close();
  }
}

/** Flips one byte inside entry `index`'s leaf (records are a 64-byte header, then the leaf). */
function flipByteOfEntry(dir: string, index: number): void {
  const offset = Number(readFileSync(join(dir, "index")).readBigUInt64BE(index * 64)) + 64 + 40;
  const segment = join(dir, "segments", readdirSync(join(dir, "segments"))[0] ?? "");
  const bytes = readFileSync(segment);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0x20;
  writeFileSync(segment, bytes);
}

const bom = (ledger: string, ...args: string[]) =>
  runCli(["bom", "ml/support-chat", "--ledger", ledger, ...args]);

/** The BOM of the demo's untouched ledger. */
let demoBom = "";

beforeAll(() => {
  const demo = runCli(["demo", "--state-dir", state.dir]);
  expect(demo.status, demo.stderr).toBe(0);
  const run = bom(demoLedger);
  expect(run.status, run.stderr).toBe(0);
  demoBom = run.stdout;
}, 120_000);

// Each run is a fresh Node process on a shared machine: allow for slow starts.
describe("modelchain bom", { timeout: 120_000 }, () => {
  it("exports the demo's ModelDeployment as a schema-valid ML-BOM, every component proven by its ledger entry", async () => {
    const { bom: doc, head, signed } = await withLedger(demoLedger, (l) => checkBom(demoBom, l));
    expect(head.size).toBe(5);
    expect(signed).toBeUndefined();
    expect(inventory(doc)).toEqual({
      images: [VLLM],
      models: ["ModelVersion/ml/mistral-7b-base", "ModelVersion/ml/mistral-7b-support-v2"],
      datasets: ["dataset/safety-refusals-v3", "dataset/support-tickets-2025q3", "dataset/web-corpus-2025"],
      deploymentDependsOn: ["ModelVersion/ml/mistral-7b-support-v2", VLLM],
    });
    const fineTuned = doc.components.find((c) => c.name === "mistral-7b-support");
    expect(values(fineTuned?.properties, "modelchain:parent")).toEqual(["ml/mistral-7b-base"]);
    expect(value(fineTuned?.modelCard?.properties, "modelchain:training:runId")).toBe("sft-2025-09-14-a");
    expect(value(doc.metadata.component.properties, "modelchain:cluster")).toBe("demo");
  });

  it("writes CycloneDX 1.7 when asked, and --out holds the same document", async () => {
    const out = join(state.dir, "bom-1.7.json");
    const run = bom(demoLedger, "--spec-version", "1.7", "--out", out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    await withLedger(demoLedger, (l) => checkBom(readFileSync(out, "utf8"), l, {}, "1.7"));
  });

  it("the checks refuse a BOM whose schema, proofs or recorded facts were altered", async () => {
    const text = demoBom;
    const altered = (change: (doc: Bom) => void): string => {
      const doc = JSON.parse(text) as Bom;
      change(doc);
      return JSON.stringify(doc);
    };
    const model = (doc: Bom) => {
      const m = doc.components.find((c) => c.type === "machine-learning-model");
      if (m === undefined) throw new Error("no model component");
      return m;
    };
    const badSchema = altered((doc) => Object.assign(model(doc), { modelCard: { trainingParameters: {} } }));
    expect(await schemaErrors(badSchema)).not.toBeNull();
    const badProof = altered((doc) => {
      const proof = model(doc).properties?.find((p) => p.name === "modelchain:ledger:inclusionProof");
      if (proof !== undefined)
        proof.value = `${proof.value.startsWith("0") ? "1" : "0"}${proof.value.slice(1)}`;
    });
    const badHash = altered((doc) => {
      const hash = model(doc).hashes?.[0];
      if (hash !== undefined) hash.content = "0".repeat(64);
    });
    await withLedger(demoLedger, async (l) => {
      await expect(checkBom(badProof, l)).rejects.toThrow(/inclusion proof of entry 0/);
      await expect(checkBom(badHash, l)).rejects.toThrow();
      await checkBom(text, l);
    });
  });

  it("ties the proofs to the ledger's signed note, with a consistency proof once the ledger grew past it", async () => {
    const copy = copyOfDemo();
    try {
      const published = runCli(["checkpoint", "--ledger", copy.dir]);
      expect(published.status, published.stderr).toBe(0);
      const logKey = parseVkey((JSON.parse(published.stdout) as { logKey: string }).logKey);
      const appended = runCli(["append", "--ledger", copy.dir], JSON.stringify(sampleEntry(100)));
      expect(appended.status, appended.stderr).toBe(0);
      const run = bom(copy.dir);
      expect(run.status, run.stderr).toBe(0);
      const { head, signed } = await withLedger(copy.dir, (l) => checkBom(run.stdout, l, { logKey }));
      expect(head.size).toBe(6);
      expect(signed).toMatchObject({ size: 5, via: "note" });
    } finally {
      copy.remove();
    }
  });

  it("fails on a tampered ledger naming the entry, and writes no BOM", () => {
    for (const index of [1, 4]) {
      const copy = copyOfDemo();
      try {
        flipByteOfEntry(copy.dir, index);
        const out = join(copy.dir, "..", "bom.json");
        const run = bom(copy.dir, "--out", out);
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(
          new RegExp(`bom: the ledger does not verify at entry ${index}: .*no BOM written`),
        );
        expect(run.stdout).toBe("");
        expect(existsSync(out)).toBe(false);
      } finally {
        copy.remove();
      }
    }
  });

  it("asks for --cluster and --uid when the name is recorded for several objects, and names what it cannot find or trust", () => {
    const copy = copyOfDemo();
    try {
      const other = sampleEntry(101);
      const entry: LedgerEntry = {
        ...other,
        subject: { ...other.subject, name: "support-chat", uid: "uid-other" },
      };
      expect(runCli(["append", "--ledger", copy.dir], JSON.stringify(entry)).status).toBe(0);
      const ambiguous = bom(copy.dir);
      expect(ambiguous.status).toBe(2);
      expect(ambiguous.stderr).toMatch(
        /2 objects are recorded as ModelDeployment ml\/support-chat .*cluster test uid uid-other.*pick one with --cluster and --uid/,
      );
      const picked = bom(copy.dir, "--cluster", "demo");
      expect(picked.status, picked.stderr).toBe(0);
      const unknown = runCli(["bom", "ml/nope", "--ledger", copy.dir]);
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toContain("no ledger entry for ModelDeployment ml/nope");
      const otherKey = bom(copy.dir, "--key-id", "0".repeat(32));
      expect(otherKey.status).toBe(1);
      expect(otherKey.stderr).toMatch(
        /the ledger's key is [0-9a-f]{32} .*not the pinned 0{32}; no BOM written/,
      );
      const bad = runCli(["bom", "nope", "--ledger", copy.dir]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('"nope": want <namespace>/<name>');
    } finally {
      copy.remove();
    }
  });

  it("never loads the Kubernetes client", () => {
    const guard = join(import.meta.dirname, "refuse-kube-client.ts");
    const env = { NODE_OPTIONS: `--import=${guard}` };
    const run = runCli(["bom", "ml/support-chat", "--ledger", demoLedger], undefined, env);
    expect(run.status, run.stderr).toBe(0);
    // The guard works: a command that does use the client fails under it.
    const operator = runCli(["operator", "--help"], undefined, env);
    expect(operator.stderr).toContain("refused to load @kubernetes/client-node");
  });
});
