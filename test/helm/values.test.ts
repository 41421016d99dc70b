// The chart's values as a user meets them: every value explained (a comment in values.yaml and a
// description in values.schema.json, which `helm show values` / editors / README draw on), and
// combinations that cannot work refused by a real helm before anything reaches a cluster.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chartValues, valuesTable, withValuesTable, type SchemaNode } from "../../scripts/chart-values.ts";
import { CHART, helm, render } from "./helm.ts";

const read = (f: string) => readFileSync(join(CHART, f), "utf8");
const schema = JSON.parse(read("values.schema.json")) as SchemaNode;

describe("the chart's values", () => {
  const all = chartValues(read("values.yaml"), schema);

  it("walks every value of values.yaml", () => {
    expect(all.length).toBeGreaterThan(70);
    expect(all.map((l) => l.path)).toEqual(
      expect.arrayContaining([
        "crds.keep",
        "operator.resources.limits",
        "webhook.tls.caBundle",
        "networkPolicy.egress",
      ]),
    );
  });

  it("documents every value in values.yaml with a comment", () => {
    expect(all.filter((l) => l.comment.length < 10).map((l) => l.path)).toEqual([]);
  });

  it("describes every value of values.yaml in values.schema.json", () => {
    expect(all.filter((l) => l.schema === undefined).map((l) => l.path)).toEqual([]);
    expect(all.filter((l) => (l.schema?.description ?? "").length < 10).map((l) => l.path)).toEqual([]);
  });

  it("lists every value in the chart's README, as `make chart-readme` writes it", () => {
    const readme = read("README.md");
    expect(readme, "run make chart-readme").toBe(withValuesTable(readme, valuesTable(all)));
    expect(readme).toContain('| `webhook.tls.existingSecret` | `""` |');
  });

  it("refuses operator.replicas above 1 with the file ledger, in helm template and helm lint, naming the value", () => {
    for (const command of [
      ["template", "mc", CHART],
      ["lint", CHART],
    ]) {
      const run = helm([...command, "--set", "operator.replicas=2"]);
      expect(run.status, command[0]).not.toBe(0);
      expect(run.stdout + run.stderr, command[0]).toMatch(/'\/operator\/replicas': maximum: got 2, want 1/);
    }
    // Past the schema (--skip-schema-validation), the template refuses it too, saying why.
    const skipped = helm([
      "template",
      "mc",
      CHART,
      "--set",
      "operator.replicas=2",
      "--skip-schema-validation",
    ]);
    expect(skipped.status).not.toBe(0);
    expect(skipped.stderr).toContain("operator.replicas: the file ledger has one writer");
    // The ic ledger has no single writer: several replicas, one leader, a rolling update.
    const ic = render({
      "operator.replicas": 3,
      "ledger.backend": "ic",
      "ledger.ic.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
      "ledger.ic.identitySecret": "mc-ic-identity",
    });
    const operator = ic.find((o) => o["kind"] === "Deployment");
    expect(operator?.["spec"]).toMatchObject({ replicas: 3, strategy: { type: "RollingUpdate" } });
  });

  it.each([
    ["an unknown key", ["--set", "operator.replica=2"], /additional properties 'replica' not allowed/],
    ["a misspelt policy", ["--set", "webhook.failurePolicy=Block"], /\/webhook\/failurePolicy/],
    ["a tag where a digest goes", ["--set", "image.digest=latest"], /\/image\/digest/],
    ["a resources typo", ["--set", "operator.resources.request.cpu=1"], /\/operator\/resources/],
    [
      "an old space too small to hold the caches",
      ["--set", "operator.v8.maxOldSpaceMiB=16"],
      /\/operator\/v8\/maxOldSpaceMiB/,
    ],
    [
      "a semi-space in bytes",
      ["--set", "operator.v8.maxSemiSpaceMiB=8388608"],
      /\/operator\/v8\/maxSemiSpaceMiB/,
    ],
    ["a name Kubernetes refuses", ["--set", "fullnameOverride=Audit_Log"], /\/fullnameOverride/],
    ["a PDB of nonsense", ["--set", "webhook.podDisruptionBudget.minAvailable=half"], /minAvailable/],
  ])("refuses %s, naming the value", (_, args, message) => {
    const run = helm(["template", "mc", CHART, ...args]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });
});
