// A verified bundle's per-file digests reach the init container: the owned Deployment carries
// them in a Pod-template annotation read through the downward API, and the init container's own
// arguments, run by the real CLI on a real directory, name the first file that differs.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelDeployment } from "../../src/api/index.ts";
import { manifestDigest, type FileDigest } from "../../src/artifact/manifest.ts";
import { modelFiles } from "../../src/artifact/walk.ts";
import {
  ARTIFACT_FILES_ANNOTATION,
  ARTIFACT_FILES_VOLUME,
  MAX_FILES_ANNOTATION_BYTES,
  artifactPlan,
} from "../../src/controller/artifact-pod.ts";
import { desiredDeployment } from "../../src/controller/index.ts";
import { runCli } from "../cli/run-cli.ts";

const FETCHER = `registry.example.com/modelchain@sha256:${"f".repeat(64)}`;
const md: ModelDeployment = {
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelDeployment",
  metadata: { name: "chat", namespace: "ml", uid: "u1" },
  spec: { modelVersion: "mv", image: `vllm/vllm-openai@sha256:${"a".repeat(64)}` },
};

function model(): { dir: string } {
  const root = mkdtempSync(join(tmpdir(), "mc-artifact-files-"));
  const dir = join(root, "chat");
  mkdirSync(join(dir, "tokenizer"), { recursive: true });
  writeFileSync(join(dir, "config.json"), '{"layers": 2}');
  writeFileSync(join(dir, "model.safetensors"), Buffer.alloc(4096, 7));
  writeFileSync(join(dir, "tokenizer", "vocab.txt"), "a\nb\n");
  return { dir };
}

function deployment(uri: string, digest: string, files?: readonly FileDigest[]) {
  const plan = artifactPlan(md, { uri, digest }, FETCHER, files);
  if (!plan.ok) throw new Error(plan.message);
  return {
    plan: plan.pod,
    deployment: desiredDeployment({
      md,
      modelSpecDigest: digest,
      configHash: digest,
      templateHash: "0123456789abcdef",
      ledgerIndex: 1,
      artifact: plan.pod,
    }),
  };
}

/** The init container's arguments with its mount points moved to where this test keeps them. */
function localArgs(args: readonly string[], at: Record<string, string>): string[] {
  return args.map((a) => Object.entries(at).reduce((v, [from, to]) => v.replace(from, to), a));
}

describe("the verified per-file list in the serving Pod", () => {
  it("pvc://: the init container reads the list from the downward API and names the changed file", async () => {
    const { dir } = model();
    const files = await modelFiles(dir);
    const digest = manifestDigest(files);
    const { deployment: d } = deployment("pvc://cache/chat", digest, files);
    const template = d.spec?.template;
    const annotation = template?.metadata?.annotations?.[ARTIFACT_FILES_ANNOTATION];
    expect(JSON.parse(annotation ?? "null")).toEqual({ files: files.map((f) => ({ ...f })) });
    const volume = template?.spec?.volumes?.find((v) => v.name === ARTIFACT_FILES_VOLUME);
    expect(volume?.downwardAPI?.items).toEqual([
      { path: "files.json", fieldRef: { fieldPath: `metadata.annotations['${ARTIFACT_FILES_ANNOTATION}']` } },
    ]);
    const init = template?.spec?.initContainers?.[0];
    expect(init?.volumeMounts).toContainEqual({
      name: ARTIFACT_FILES_VOLUME,
      mountPath: "/artifact-files",
      readOnly: true,
    });
    // What the kubelet would project: the annotation's value as the file.
    const projected = mkdtempSync(join(tmpdir(), "mc-projected-"));
    writeFileSync(join(projected, "files.json"), annotation ?? "");
    const args = localArgs(init?.args ?? [], {
      "/artifact-files": projected,
      "/artifact/chat": dir,
      "/dev/termination-log": join(projected, "termination-log"),
    });
    expect(args.slice(0, 2)).toEqual(["artifact", "verify"]);
    expect(args).toContain("--manifest");

    expect(runCli(args).status).toBe(0);
    writeFileSync(join(dir, "tokenizer", "vocab.txt"), "a\nc\n");
    const changed = runCli(args);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain('first difference: file "tokenizer/vocab.txt"');
    const outcome = JSON.parse(readFileSync(join(projected, "termination-log"), "utf8")) as { file?: string };
    expect(outcome.file).toBe("tokenizer/vocab.txt");
  });

  it("an annotation edited to another list is refused: it does not add up to the signed digest", async () => {
    const { dir } = model();
    const files = await modelFiles(dir);
    const { deployment: d } = deployment("pvc://cache/chat", manifestDigest(files), files);
    const template = d.spec?.template;
    const edited = { files: files.map((f, i) => (i === 0 ? { ...f, sha256: "0".repeat(64) } : f)) };
    const projected = mkdtempSync(join(tmpdir(), "mc-projected-"));
    writeFileSync(join(projected, "files.json"), JSON.stringify(edited));
    const args = localArgs(template?.spec?.initContainers?.[0]?.args ?? [], {
      "/artifact-files": projected,
      "/artifact/chat": dir,
      "/dev/termination-log": join(projected, "termination-log"),
    });
    const run = runCli(args);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("artifact manifest: its files add up to");
  });

  it("fetched schemes get the list too; oci:// (the kubelet checks by digest) and no list get none", () => {
    const files = [{ path: "model.gguf", sha256: "1".repeat(64) }];
    const digest = manifestDigest(files);
    const https = deployment("https://models.example.com/model.gguf", digest, files).deployment;
    const args = https.spec?.template.spec?.initContainers?.[0]?.args ?? [];
    expect(args.slice(0, 2)).toEqual(["artifact", "fetch"]);
    expect(args[args.indexOf("--manifest") + 1]).toBe("/artifact-files/files.json");
    for (const d of [
      deployment("oci://registry.example.com/models/chat:1", digest, files).deployment,
      deployment("https://models.example.com/model.gguf", digest).deployment,
    ]) {
      expect(d.spec?.template.metadata?.annotations?.[ARTIFACT_FILES_ANNOTATION]).toBeUndefined();
      expect(d.spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain(ARTIFACT_FILES_VOLUME);
    }
  });

  it("a list too large for an annotation is left out, and the plan says why", () => {
    const files = Array.from({ length: 2000 }, (_, i) => ({
      path: `shards/model-${String(i).padStart(5, "0")}-of-02000.safetensors`,
      sha256: i.toString(16).padStart(64, "0"),
    }));
    expect(JSON.stringify({ files }).length).toBeGreaterThan(MAX_FILES_ANNOTATION_BYTES);
    const { plan, deployment: d } = deployment("s3://bucket/chat/", manifestDigest(files), files);
    expect(plan.filesOmitted).toContain("2000 files");
    expect(d.spec?.template.metadata?.annotations?.[ARTIFACT_FILES_ANNOTATION]).toBeUndefined();
    expect(d.spec?.template.spec?.initContainers?.[0]?.args).not.toContain("--manifest");
  });
});
