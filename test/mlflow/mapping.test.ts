// The pure parts of the MLflow import: Kubernetes names from MLflow names, where a version's
// source leads, and MLflow answers that are not what the REST API promises.
import { describe, expect, it } from "vitest";
import { kubernetesName } from "../../src/mlflow/index.ts";
import { locate } from "../../src/mlflow/location.ts";
import { MlflowAnswerInvalid, registeredVersionOf, runOf } from "../../src/mlflow/records.ts";

// The hashes are `printf %s NAME | sha256sum | cut -c1-8`.
const LABEL_VALUE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe("Kubernetes names of MLflow versions", () => {
  it.each([
    ["fraud-detector", "3", "fraud-detector-v3"],
    ["Fraud Detector", "3", "fraud-detector-cbe008ea-v3"],
    ["fraud_detector", "3", "fraud-detector-56e83637-v3"],
    ["résumé.ranker", "12", "r-sum-ranker-243563ea-v12"],
    ["模型", "1", "mlflow-c98e118e-v1"],
  ])("%s version %s is %s", (model, version, name) => {
    expect(kubernetesName(model, version)).toBe(name);
  });

  it("keeps names that differ in MLflow apart, and every name a label value of at most 63", () => {
    const names = ["Fraud Detector", "fraud detector", "fraud_detector", "fraud-detector", "FRAUD-DETECTOR"];
    const mapped = names.map((n) => kubernetesName(n, "1"));
    expect(new Set(mapped).size).toBe(names.length);
    for (const model of [...names, "x".repeat(300), `${"a-".repeat(40)}b`, "-lead-and-trail-"]) {
      const name = kubernetesName(model, "123456");
      expect(name, model).toMatch(LABEL_VALUE);
      expect(name.length, model).toBeLessThanOrEqual(63);
      expect(name.endsWith("-v123456"), model).toBe(true);
    }
    expect(kubernetesName("x".repeat(300), "1")).not.toBe(kubernetesName(`${"x".repeat(299)}y`, "1"));
  });
});

describe("where a version's source leads", () => {
  it.each([
    ["runs:/0a1b/model", { kind: "run", runId: "0a1b", path: "model" }],
    ["models:/m-0123abcd", { kind: "loggedModel", modelId: "m-0123abcd" }],
    ["models:/Fraud Detector/2", { kind: "version", name: "Fraud Detector", version: "2" }],
    ["mlflow-artifacts:/1/0a1b/artifacts/model", { kind: "proxy", path: "1/0a1b/artifacts/model" }],
    ["mlflow-artifacts://mlflow.internal/1/x/", { kind: "proxy", path: "1/x" }],
    ["file:///srv/mlruns/1/x/artifacts", { kind: "local", path: "/srv/mlruns/1/x/artifacts" }],
    ["/srv/mlruns/1/x/artifacts", { kind: "local", path: "/srv/mlruns/1/x/artifacts" }],
    ["s3://models/fraud/3", { kind: "bucket", uri: "s3://models/fraud/3" }],
  ])("%s", (uri, step) => {
    expect(locate(uri)).toEqual(step);
  });

  it.each([
    [
      "wasbs://c@account.blob.core.windows.net/model",
      "modelchain reads artifacts through the tracking server",
    ],
    ["mlflow-artifacts:/1/../../etc", "its path leaves the artifact root"],
    ["models:/fraud@champion", "expected models:/m-<id> or models:/<name>/<version>"],
    ["file://otherhost/srv/model", "a file:// URI on another host"],
  ])("refuses %s, saying why", (uri, problem) => {
    expect(() => locate(uri)).toThrow(problem);
  });
});

describe("MLflow answers", () => {
  it("name the field that is missing or mistyped", () => {
    expect(() => registeredVersionOf({ model_version: { name: "m", version: "1" } }, "models:/m/1")).toThrow(
      new MlflowAnswerInvalid("models:/m/1", "model_version.source", "is missing or not a string"),
    );
    expect(() =>
      runOf({ run: { info: { run_id: "r", artifact_uri: "x", start_time: "soon" } } }, "run r"),
    ).toThrow("mlflow: run r: run.info.start_time is not a timestamp");
    expect(() =>
      runOf({ run: { info: { run_id: "r", artifact_uri: "x" }, data: { params: {} } } }, "run r"),
    ).toThrow("mlflow: run r: run.data.params is not a list");
  });

  it("read int64s sent as strings (proto3 JSON) and lists left out when empty", () => {
    const run = runOf(
      { run: { info: { run_id: "r", artifact_uri: "x", start_time: "1700000000000" } } },
      "run r",
    );
    expect(run).toEqual({
      runId: "r",
      startTime: 1_700_000_000_000,
      artifactUri: "x",
      params: {},
      metrics: {},
      tags: {},
      datasets: [],
      modelInputs: [],
    });
  });
});
