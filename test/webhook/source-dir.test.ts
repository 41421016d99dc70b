import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MemoryLedger } from "../../src/ledger/index.ts";
import { checkManifests } from "../../src/webhook/check.ts";
import { DirSourceInvalid, loadDirCache } from "../../src/webhook/service.ts";
import {
  ManifestReadFailed,
  manifestFiles,
  readLedgerFacts,
  readManifestFile,
} from "../../src/webhook/source-dir.ts";
import type { ModelVocabulary } from "../../src/webhook/cache.ts";
import { DIGEST, PINNED, policy } from "./fixtures.ts";

interface Plain {
  namespace: string;
  name: string;
}

/** Reads `metadata.{namespace,name}`; a spec.signed=false ModelVersion fails its signature. */
const vocabulary: ModelVocabulary<Plain, null> = {
  modelVersion: (o) => {
    const meta = typeof o === "object" && o !== null && "metadata" in o ? o.metadata : undefined;
    if (typeof meta !== "object" || meta === null || !("name" in meta) || typeof meta.name !== "string")
      return { ok: false, problem: "metadata.name is required" };
    const namespace = "namespace" in meta && typeof meta.namespace === "string" ? meta.namespace : "default";
    return {
      ok: true,
      object: { namespace, name: meta.name },
      view: { namespace, name: meta.name, revoked: false, revokedReason: "", specDigest: DIGEST },
    };
  },
  policy: (o) => {
    const mode =
      typeof o === "object" &&
      o !== null &&
      "spec" in o &&
      typeof o.spec === "object" &&
      o.spec !== null &&
      "mode" in o.spec &&
      o.spec.mode === "warn"
        ? "warn"
        : "enforce";
    return { ok: true, view: { ...policy("p", mode), policy: null } };
  },
  unrevocation: () => undefined,
  verify: (mv) => ({
    verified: mv.name !== "unsigned",
    checks: [{ name: "signature", passed: mv.name !== "unsigned", reason: "no trusted signature" }],
  }),
  signature: (mv) => ({ name: "signature", passed: mv.name !== "unsigned", reason: "no trusted signature" }),
};

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "mc-webhook-dir-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const mv = (name: string) =>
  `apiVersion: modelchain.io/v1alpha1\nkind: ModelVersion\nmetadata: {name: ${name}, namespace: ml}\nspec: {}\n`;
const md = (mvName: string, image = PINNED) =>
  `apiVersion: modelchain.io/v1alpha1\nkind: ModelDeployment\nmetadata: {name: serve-${mvName}, namespace: ml}\nspec: {modelVersion: ${mvName}, image: "${image}"}\n`;
const policyYaml =
  "apiVersion: modelchain.io/v1alpha1\nkind: ModelTrustPolicy\nmetadata: {name: p}\nspec: {mode: enforce}\n";

describe("dir source and offline check", () => {
  it("reads the multi-document files of a directory, not its subdirectories or dot files", () => {
    const dir = dirWith({
      "a.yaml": `${mv("one")}---\n${mv("two")}`,
      "sub/b.yml": mv("three"),
      ".hidden.yaml": mv("four"),
      "notes.txt": "x",
    });
    const files = manifestFiles(dir);
    expect(files.map((f) => f.slice(dir.length))).toEqual(["/a.yaml"]);
    expect(files.flatMap((f) => readManifestFile(f)).map((m) => m.doc)).toEqual([0, 1]);
  });

  it("names the file and document of malformed YAML", () => {
    const dir = dirWith({ "bad.yaml": `${mv("ok")}---\nkind: [unclosed\n` });
    expect(() => readManifestFile(join(dir, "bad.yaml"))).toThrow(ManifestReadFailed);
    expect(() => readManifestFile(join(dir, "bad.yaml"))).toThrow(/bad\.yaml: document 1/);
  });

  it("refuses a directory holding an unusable ModelVersion, naming the file", async () => {
    const dir = dirWith({ "mv.yaml": "kind: ModelVersion\nmetadata: {}\n" });
    await expect(loadDirCache(vocabulary, dir)).rejects.toThrow(DirSourceInvalid);
    await expect(loadDirCache(vocabulary, dir)).rejects.toThrow(
      /mv\.yaml \(document 0\): ModelVersion metadata\.name is required/,
    );
  });

  it("judges each manifest object as the webhook would", async () => {
    const dir = dirWith({ "state.yaml": `${mv("good")}---\n${mv("unsigned")}---\n${policyYaml}` });
    const cache = await loadDirCache(vocabulary, dir);
    const manifest = dirWith({
      "m.yaml": `${md("good")}---\n${md("unsigned")}---\n${md("good", "nginx:1")}---\n${md("absent")}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`,
    });
    const results = checkManifests(cache, readManifestFile(join(manifest, "m.yaml")));
    expect(results.map((r) => [r.name, r.allowed, r.reason])).toEqual([
      ["serve-good", true, "verified"],
      ["serve-unsigned", false, "signature-invalid"],
      ["serve-good", false, "image-not-pinned"],
      ["serve-absent", false, "model-version-missing"],
      ["c", true, "ungated"],
    ]);
  });

  it("reads the first registered spec digest per ModelVersion and the tip from a ledger", async () => {
    const ledger = new MemoryLedger();
    const entry = (name: string, specDigest: string, i: number, uid?: string) => ({
      v: 1,
      kind: "ModelVersionRegistered",
      cluster: "c",
      key: `k${i}`,
      observedAt: "2026-11-25T00:00:00Z",
      subject: {
        apiVersion: "modelchain.io/v1alpha1",
        kind: "ModelVersion",
        namespace: "ml",
        name,
        ...(uid ? { uid } : {}),
      },
      data: { specDigest },
    });
    await ledger.append([
      entry("good", "sha256:1", 0, "u1"),
      entry("good", "sha256:2", 1, "u1"),
      entry("other", "sha256:3", 2),
    ]);
    const facts = await readLedgerFacts(ledger);
    expect(facts.tip?.size).toBe(3);
    expect(facts.tip?.root).toBe(await ledger.root());
    // The later registration of a changed spec does not replace the reference digest.
    expect(facts.registrations.of("ml", "good", "u1")?.specDigest).toBe("sha256:1");
    expect(facts.registrations.of("ml", "good")?.specDigest).toBe("sha256:1");
    expect(facts.registrations.of("ml", "other")?.specDigest).toBe("sha256:3");
    expect(await readLedgerFacts(ledger, facts)).toBe(facts); // nothing new: same facts, verdicts kept
    await ledger.append([entry("good", "sha256:4", 3, "u2"), entry("other", "sha256:5", 4)]);
    const next = await readLedgerFacts(ledger, facts);
    expect(next.tip?.size).toBe(5);
    // Deleted and created again: a new object, whose own first registration counts.
    expect(next.registrations.of("ml", "good", "u2")?.specDigest).toBe("sha256:4");
    expect(next.registrations.of("ml", "good", "u1")?.specDigest).toBe("sha256:1");
    expect(next.registrations.of("ml", "good")?.specDigest).toBe("sha256:4");
    expect(next.registrations.of("ml", "other")?.specDigest).toBe("sha256:3");
  });
});
