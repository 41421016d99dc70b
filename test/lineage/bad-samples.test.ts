// Each bad sample says in its first line which check it fails; other suites (e2e, demo,
// envtest) and the README rely on that comment, so it must stay true of verifyLineage.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelVersion } from "../../src/api/index.ts";
import { CHECK_NAMES, lineagePolicy, verifyLineage } from "../../src/lineage/index.ts";
import { SAMPLES, sampleFiles, sampleObjects } from "../api/samples.ts";

const HEADER = /^# BAD: fails the "([A-Za-z]+)" check/;
const policy = lineagePolicy(
  (sampleObjects("trust-policy.yaml")[0] as { spec: Parameters<typeof lineagePolicy>[0] }).spec,
);
const goodModels = [
  ...sampleObjects("base-model.yaml"),
  ...sampleObjects("fine-tuned.yaml"),
] as unknown as ModelVersion[];

function modelsIn(file: string): ModelVersion[] {
  return sampleObjects(file).filter((o) => o["kind"] === "ModelVersion") as unknown as ModelVersion[];
}

const lineageSamples = sampleFiles("bad")
  .filter((f) => modelsIn(f).length > 0)
  .map((file) => [file, HEADER.exec(readFileSync(join(SAMPLES, file), "utf8"))?.[1]] as const);

describe("bad ModelVersion samples", () => {
  it("each opens with a comment naming a known lineage check", () => {
    expect(lineageSamples.length).toBeGreaterThan(0);
    for (const [file, check] of lineageSamples) {
      expect(CHECK_NAMES as readonly (string | undefined)[], `${file} header`).toContain(check);
    }
  });

  it.each(lineageSamples)(
    "%s fails the check its comment names, with the good chain present",
    (file, check) => {
      const models = [...goodModels, ...modelsIn(file)];
      const byName = new Map(models.map((m) => [`${m.metadata.namespace}/${m.metadata.name}`, m]));
      const failing = modelsIn(file)
        .map((mv) => verifyLineage(mv, (ns, name) => byName.get(`${ns}/${name}`), policy))
        .filter((v) => v.checks.some((c) => c.name === check && !c.passed && c.required));
      expect(failing.length, `no ModelVersion in ${file} fails "${check}"`).toBeGreaterThan(0);
      expect(failing.every((v) => !v.verified)).toBe(true);
    },
  );
});
