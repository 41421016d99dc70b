// The ML-BOM built from a history the demo never produces: a spec registered twice, an unverified
// child, a dataset without a digest or URL, a training repository that is no URL, a version 1
// rollout with an unpinned image and a version 2 rollout with two containers. In process, on a
// memory ledger; every BOM still passes the schema and the ledger checks.
import { describe, expect, it } from "vitest";
import { objectHistory } from "../../../src/cli/history/chain.ts";
import { mlBom } from "../../../src/cli/bom/ml-bom.ts";
import { mlBomJson } from "../../../src/cli/bom/ml-components.ts";
import { Spec1dot6 } from "@cyclonedx/cyclonedx-library/Spec";
import { MemoryLedger, type LedgerEntry } from "../../../src/ledger/index.ts";
import { entryFor, recording, type EntryData } from "../../../src/trail/index.ts";
import { checkBom, dependsOn, inventory, value, values, type BomComponent } from "../bom-checks.ts";

const at = new Date("2026-12-01T00:00:00Z");
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const subject = (kind: string, name: string, uid: string) => ({
  apiVersion: "modelchain.io/v1alpha1",
  kind,
  metadata: { namespace: "ml", name, uid },
});

function registration(name: string, uid: string, data: Partial<EntryData["ModelVersionRegistered"]>) {
  const full: EntryData["ModelVersionRegistered"] = {
    specDigest: digest("0"),
    model: name,
    version: "1",
    artifact: { uri: `s3://models/${name}`, digest: digest("a") },
    parents: [],
    datasets: [],
    training: {},
    signedBy: ["key-1"],
    verified: true,
    failedChecks: [],
    ...data,
  };
  const parts = { modelVersion: uid, specDigest: full.specDigest };
  return entryFor(
    subject("ModelVersion", name, uid),
    recording("ModelVersionRegistered", parts, full, "m"),
    "c",
    at,
  );
}

/** A RolloutStarted entry with `data` as given: version 1 and 2 shapes alike. */
function rollout(revision: number, data: Record<string, unknown>): LedgerEntry {
  const id = { workload: "md-uid", revision, templateHash: `t${revision}` };
  const v2 = {
    revision,
    modelVersion: "",
    modelSpecDigest: "",
    images: {},
    configHash: "",
    templateHash: id.templateHash,
  };
  const entry = entryFor(
    subject("ModelDeployment", "chat", "md-uid"),
    recording("RolloutStarted", id, v2, "m"),
    "c",
    at,
  );
  return { ...entry, data: { revision, ...data } };
}

const PINNED = `registry.example/serve@sha256:${"b".repeat(64)}`;
const SIDECAR = `registry.example:5000/tools/proxy:1.2@sha256:${"c".repeat(64)}`;

async function history() {
  const ledger = new MemoryLedger();
  await ledger.append([
    registration("base", "u-base", {
      datasets: [{ name: "scraped", uri: "somewhere on a share", digest: null }],
      training: { codeRepository: "git@git.example:ml/base.git", parameters: { epochs: "2" } },
    }),
    registration("base", "u-base", { specDigest: digest("1") }),
    registration("child", "u-child", {
      parents: ["ml/base"],
      verified: false,
      failedChecks: ["datasetsPinned"],
      datasets: [{ name: "scraped", uri: "somewhere on a share", digest: null }],
    }),
    rollout(1, {
      modelVersion: "child",
      modelSpecDigest: digest("0"),
      image: "registry.example/serve:latest",
    }),
    ...[2, 3].map((revision) =>
      rollout(revision, {
        modelVersion: "child",
        modelSpecDigest: digest("0"),
        images: { server: PINNED, proxy: SIDECAR },
      }),
    ),
  ]);
  const h = await objectHistory(ledger, { kind: "ModelDeployment", namespace: "ml", name: "chat" });
  const [group] = h.groups;
  if (group === undefined) throw new Error("no group");
  const head = { backend: "memory", size: h.size, root: h.root, keyId: undefined };
  const input = { namespace: "ml", name: "chat", group, head, signed: undefined, tools: [] };
  const text = mlBomJson(
    mlBom({
      ...input,
      timestamp: at,
      serialNumber: `urn:uuid:${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`,
    }),
    Spec1dot6,
  );
  return { ledger, text };
}

const byName = (components: BomComponent[], name: string) => components.filter((c) => c.name === name);

describe("mlBom", () => {
  it("keeps to what was recorded where the record is thin, and stays schema-valid", async () => {
    const { ledger, text } = await history();
    const { bom } = await checkBom(text, ledger);
    expect(inventory(bom)).toEqual({
      images: [SIDECAR, PINNED, "registry.example/serve:latest"].sort(),
      models: ["ModelVersion/ml/base", "ModelVersion/ml/base", "ModelVersion/ml/child"],
      datasets: ["dataset/scraped"],
      deploymentDependsOn: ["ModelVersion/ml/child", PINNED, SIDECAR, "registry.example/serve:latest"].sort(),
    });
    const [unpinned] = bom.components.filter((c) => c["bom-ref"] === "registry.example/serve:latest");
    expect(unpinned?.hashes).toBeUndefined();
    const [sidecar] = bom.components.filter((c) => c["bom-ref"] === SIDECAR);
    expect(sidecar?.name).toBe("registry.example:5000/tools/proxy");
    expect(value(sidecar?.properties, "modelchain:container")).toBe("proxy");
    expect(values(sidecar?.properties, "modelchain:rollout:revision")).toEqual(["2", "3"]);
    expect(value(sidecar?.properties, "modelchain:ledger:entryIndex")).toBe("4");
    const [dataset] = byName(bom.components, "scraped");
    expect([dataset?.hashes, dataset?.data]).toEqual([undefined, undefined]);
    expect(values(dataset?.properties, "modelchain:dataset:usedBy")).toEqual(["ml/base", "ml/child"]);
    const [child] = byName(bom.components, "child");
    expect(value(child?.properties, "modelchain:lineage:verified")).toBe("false");
    expect(values(child?.properties, "modelchain:lineage:failedCheck")).toEqual(["datasetsPinned"]);
    // The parent is its first registration, the one "recorded" means.
    expect(dependsOn(bom, child?.["bom-ref"] ?? "")).toContain(`ModelVersion/ml/base@${digest("0")}`);
    const [first] = byName(bom.components, "base");
    expect(value(first?.modelCard?.properties, "modelchain:training:codeRepository")).toBe(
      "git@git.example:ml/base.git",
    );
  });
});
