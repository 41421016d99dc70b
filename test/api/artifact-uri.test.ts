// MLflow's models:/ and runs:/ URIs in a ModelVersion: the schema (and so the CRD) accepts a
// pinned registered version or a run's artifact, and refuses what can move (a stage, an alias).
import { describe, expect, it } from "vitest";
import {
  ArtifactUriError,
  describeErrors,
  parseArtifactUri,
  validateModelVersion,
  type ModelVersion,
} from "../../src/api/index.ts";
import { sampleObjects } from "./samples.ts";

const withUri = (uri: string): ModelVersion => {
  const mv = structuredClone(sampleObjects("fine-tuned.yaml")[0]) as unknown as ModelVersion;
  mv.spec.artifact.uri = uri;
  return mv;
};

describe("MLflow artifact URIs", () => {
  it.each([
    ["models:/Fraud Detector/3", { scheme: "models", name: "Fraud Detector", version: "3" }],
    ["models:/fraud.v2-x/12", { scheme: "models", name: "fraud.v2-x", version: "12" }],
    ["runs:/0a1b2c3d/model", { scheme: "runs", runId: "0a1b2c3d", path: "model" }],
    ["runs:/0a1b2c3d/models/final/", { scheme: "runs", runId: "0a1b2c3d", path: "models/final" }],
    ["runs:/0a1b2c3d", { scheme: "runs", runId: "0a1b2c3d", path: "" }],
  ])("parses %s and the schema accepts it", (uri, location) => {
    expect(parseArtifactUri(uri)).toEqual(location);
    expect(validateModelVersion(withUri(uri)).ok).toBe(true);
  });

  it.each([
    ["models:/fraud@champion", "is not pinned to one registered version"],
    ["models:/fraud/Production", "is not pinned to one registered version"],
    ["models:/fraud/0", "is not pinned to one registered version"],
    ["models:/m-0123abcd", "is not pinned to one registered version"],
    ["runs:/0a1b/../other-run/model", "path must stay inside the run's artifacts"],
  ])("refuses %s, saying why, and the schema refuses it too", (uri, problem) => {
    expect(() => parseArtifactUri(uri)).toThrow(ArtifactUriError);
    expect(() => parseArtifactUri(uri)).toThrow(problem);
    const result = validateModelVersion(withUri(uri));
    if (uri.includes("..")) return; // the schema checks the shape; the parse checks the path
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeErrors(result.errors)).toContain("spec.artifact.uri: must match");
  });

  it("names MLflow's schemes among the known ones for an unknown scheme", () => {
    expect(() => parseArtifactUri("wasbs://container/model")).toThrow(/models:\/, runs:\//);
  });
});

describe("Hugging Face Hub artifact URIs", () => {
  const rev = "0123456789abcdef0123456789abcdef01234567";
  it.each([
    [`hf://org/llm@${rev}`, ""],
    [`hf://org/llm@${rev}/`, ""],
    [`hf://org/llm@${rev}/weights/`, "weights/"],
    [`hf://org/llm@${rev}/weights//`, "weights/"],
    [`hf://org/llm@${rev}/weights`, "weights"],
    [`hf://org/llm@${rev}/weights/model.safetensors`, "weights/model.safetensors"],
  ])("parses %s: the whole repository, a folder, or a file-or-folder path", (uri, path) => {
    expect(parseArtifactUri(uri)).toEqual({ scheme: "hf", repo: "org/llm", revision: rev, path });
    expect(validateModelVersion(withUri(uri)).ok).toBe(true);
  });

  it.each([
    ["hf://org/llm", "expected hf://<repo>@<revision>[/<path>]"],
    ["hf://org/llm@", "with a revision"],
    ["hf://org/llm@/model.bin", "with a revision"],
    [`hf://org/llm@${rev}/a/../b`, "plain relative path"],
    [`hf://org/llm@${rev}/a//b`, "plain relative path"],
    [`hf://org/llm@${rev}/./b`, "plain relative path"],
  ])("refuses %s, saying why", (uri, problem) => {
    expect(() => parseArtifactUri(uri)).toThrow(ArtifactUriError);
    expect(() => parseArtifactUri(uri)).toThrow(problem);
  });
});
