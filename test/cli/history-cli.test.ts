// `modelchain history` as an auditor runs it: entries grouped by cluster and uid, filters by
// cluster and uid, labelled Deployments, denials and admitted changes with their actors, and
// the operator's entries joined to the change that caused them; -o json | yaml | table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { FileLedger, type LedgerEntry } from "../../src/ledger/index.ts";
import { entryFor, recording, type Recording } from "../../src/trail/index.ts";
import { changeEntry } from "../../src/webhook/changes.ts";
import type { AdmissionRequest } from "../../src/webhook/review.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { runCli } from "./run-cli.ts";

const state = tempDir("modelchain-history-");
afterAll(() => state.remove());
const IMG = `registry.example/serve@sha256:${"1".repeat(64)}`;
const at = new Date("2026-12-01T00:00:00Z");
const alice = { username: "alice", uid: "uid-alice", groups: ["system:authenticated"] };
const ci = {
  username: "system:serviceaccount:ci:deployer",
  uid: "uid-sa",
  groups: ["system:serviceaccounts"],
};

function md(uid: string, generation: number, logLevel: string): unknown {
  return {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: "chat", namespace: "ml", uid, generation },
    spec: { modelVersion: "mv", image: IMG, serving: { env: [{ name: "LOG_LEVEL", value: logLevel }] } },
  };
}

function review(
  uid: string,
  kind: string,
  object: unknown,
  oldObject: unknown,
  userInfo = alice,
): AdmissionRequest {
  const group = kind === "ConfigMap" ? "" : kind === "Deployment" ? "apps" : "modelchain.io";
  const version = group === "modelchain.io" ? "v1alpha1" : "v1";
  return {
    uid,
    kind: { group, version, kind },
    operation: oldObject === null ? "CREATE" : "UPDATE",
    namespace: "ml",
    name: kind === "ConfigMap" ? "tuning" : "chat",
    object,
    oldObject,
    dryRun: false,
    userInfo,
  };
}

const mdSubject = (uid: string) => ({
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelDeployment",
  metadata: { name: "chat", namespace: "ml", uid },
});
const rollout = (uid: string, revision: number, generation: number, cluster = "prod"): LedgerEntry =>
  entryFor(
    mdSubject(uid),
    recording(
      "RolloutStarted",
      { workload: uid, revision, templateHash: `t${revision}` },
      {
        revision,
        modelVersion: "mv",
        modelSpecDigest: "sha256:m",
        images: { server: IMG },
        configHash: `sha256:c${revision}`,
        templateHash: `t${revision}`,
        generation,
      },
      "m",
    ) as Recording,
    cluster,
    at,
  );

function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("fixture: no entry");
  return v;
}

beforeAll(async () => {
  const configMap = (v: string) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "tuning", namespace: "ml", uid: "cm-uid" },
    data: { temperature: v },
  });
  const configChanged = entryFor(
    mdSubject("md-1"),
    recording(
      "ConfigChanged",
      { workload: "md-1", revision: 3, templateHash: "t3" },
      {
        revision: 3,
        modelVersion: "mv",
        from: "sha256:c2",
        to: "sha256:c3",
        diff: [{ op: "replace", path: "/configMaps/tuning/temperature", value: "sha256:x" }],
        generation: 2,
      },
      "m",
    ),
    "prod",
    at,
  );
  const ledger = await FileLedger.open(state.dir, { warn: () => undefined });
  await ledger.append([
    must(changeEntry(review("r1", "ModelDeployment", md("md-1", 1, "info"), null, ci), "prod", at)),
    rollout("md-1", 1, 1),
    must(
      changeEntry(review("r2", "ModelDeployment", md("md-1", 2, "debug"), md("md-1", 1, "info")), "prod", at),
    ),
    rollout("md-1", 2, 2),
    must(changeEntry(review("r3", "ConfigMap", configMap("0.2"), configMap("0.7")), "prod", at)),
    configChanged,
    // The same name in another cluster, and a later object under the same name.
    rollout("md-other", 1, 1, "staging"),
    must(changeEntry(review("r4", "ModelDeployment", md("md-2", 1, "info"), null), "prod", at)),
    rollout("md-2", 1, 1),
  ]);
  await ledger.close();
});

const history = (...args: string[]) =>
  runCli(["history", "ml/chat", "--ledger", state.dir, ...args], undefined, { KUBECONFIG: "" });

// Each run is a fresh Node process on a shared machine: allow for slow starts.
describe("modelchain history", { timeout: 120_000 }, () => {
  it("groups by cluster and uid and joins each operator entry to the admitted change and actor behind it", () => {
    const run = history();
    expect(run.status, run.stderr).toBe(0);
    const h = JSON.parse(run.stdout);
    expect(h.groups.map((g: { cluster: string; uid: string }) => `${g.cluster}/${g.uid}`)).toEqual([
      "prod/md-1",
      "staging/md-other",
      "prod/md-2",
    ]);
    const events = h.groups[0].events.map(
      (e: { index: number; kind: string; actor: string | null; causedBy: number[] }) => [
        e.index,
        e.kind,
        e.actor,
        e.causedBy,
      ],
    );
    expect(events).toEqual([
      [0, "ChangeAdmitted", "system:serviceaccount:ci:deployer (service account)", []],
      [1, "RolloutStarted", "system:serviceaccount:ci:deployer (service account)", [0]],
      [2, "ChangeAdmitted", "alice", []],
      [3, "RolloutStarted", "alice", [2]],
      [4, "ChangeAdmitted", "alice", []],
      [5, "ConfigChanged", "alice", [4]],
    ]);
    expect(h.groups[0].events[4].subject).toBe("ConfigMap ml/tuning");
    expect(h.groups[0].events[2].data.diff).toEqual([
      { op: "replace", path: "/spec/serving/env/LOG_LEVEL/value", value: expect.stringMatching(/^sha256:/) },
    ]);
  });

  it("filters by cluster and by uid", () => {
    const staging = JSON.parse(history("--cluster", "staging").stdout);
    expect(staging.groups.map((g: { uid: string }) => g.uid)).toEqual(["md-other"]);
    expect(staging.filters).toEqual({ cluster: "staging", uid: null });
    const second = JSON.parse(history("--uid", "md-2").stdout);
    expect(second.groups.map((g: { uid: string }) => g.uid)).toEqual(["md-2"]);
    const none = history("--uid", "nope");
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("no ledger entry for ModelDeployment ml/chat (cluster all, uid nope)");
  });

  it("writes the same document as YAML, and a table for people that names actors and changed keys, never values", () => {
    const json = JSON.parse(history().stdout);
    expect(parse(history("-o", "yaml").stdout)).toEqual(json);
    const table = history("-o", "table").stdout;
    expect(table).toContain("== cluster prod, uid md-1 ==");
    expect(table).toMatch(
      /\[2\] ChangeAdmitted by alice: UPDATE admitted \(generation 2\): \/spec\/serving\/env\/LOG_LEVEL\/value/,
    );
    expect(table).toMatch(/\[3\] RolloutStarted by alice: .*\(after \[2\]\)/);
    expect(table).toMatch(
      /\[4\] ChangeAdmitted ConfigMap ml\/tuning by alice: UPDATE admitted: \/data\/temperature/,
    );
    expect(table).not.toMatch(/debug|0\.2|0\.7/);
  });

  it("shows a labelled Deployment's history with --kind Deployment", async () => {
    const dir = tempDir("modelchain-history-d-");
    try {
      const d = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
          name: "chat",
          namespace: "ml",
          uid: "d-uid",
          generation: 1,
          labels: { "modelchain.io/model-version": "mv" },
        },
        spec: { template: { spec: { containers: [{ name: "s", image: IMG }] } } },
      };
      const ledger = await FileLedger.open(dir.dir, { warn: () => undefined });
      await ledger.append([must(changeEntry(review("d1", "Deployment", d, null), "prod", at))]);
      await ledger.close();
      const run = runCli(["history", "ml/chat", "--ledger", dir.dir, "--kind", "Deployment"], undefined, {
        KUBECONFIG: "",
      });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).groups[0].events[0]).toMatchObject({
        kind: "ChangeAdmitted",
        actor: "alice",
        uid: "d-uid",
      });
    } finally {
      dir.remove();
    }
  });
});
