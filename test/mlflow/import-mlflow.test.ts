// `modelchain import mlflow` against a real MLflow tracking server: runs logged and versions
// registered by MLflow's own Python client, imported through the REST API and the artifact
// proxy, signed, checked offline by lineage-check, and verified and recorded by the operator on
// a real kube-apiserver. A version whose artifact changed after registration is caught.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { CustomObjectsApi, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { ModelVersion } from "../../src/api/index.ts";
import type { FileLedger } from "../../src/ledger/index.ts";
import { kubernetesName } from "../../src/mlflow/index.ts";
import { runCliAsync, type CliRun } from "../cli/run-cli.ts";
import { skipWithoutAssets } from "../envtest/assets.ts";
import type { ControlPlane } from "../envtest/controlplane.ts";
import { startOperatorEnv, type OperatorEnv } from "../envtest/operator-env.ts";
import { waitFor } from "../envtest/processes.ts";
import { directoryDigest, workDir, writeModel } from "../pytools/model-signing.ts";
import { skipWithoutPythonTool } from "../pytools/tools.ts";
import { startMotoBucket } from "../artifact/moto.ts";
import { runPython, startMlflowServer, type MlflowServer } from "./server.ts";

const skip = skipWithoutPythonTool("import mlflow against a real MLflow server", "mlflow", "mlflow");
const skipCluster = skip || skipWithoutAssets("imported ModelVersions on kube-apiserver");
const skipS3 =
  skip || skipWithoutPythonTool("import mlflow of a version kept in S3 (moto)", "s3", "moto_server");

const sha = (c: string): string => `sha256:${c.repeat(64)}`;
const DATASETS = { transactions: sha("1"), labels: sha("2"), chargebacks: sha("3") };
const MLMODEL =
  "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    sklearn_version: 1.5.2\n";

interface Made {
  runs: Record<string, string>;
  versions: { base: string; tuned: string };
  churn1_artifacts: string;
  churn2_artifacts: string;
}

function isMade(v: unknown): v is Made {
  return typeof v === "object" && v !== null && "runs" in v && "versions" in v && "churn1_artifacts" in v;
}

function modelVersions(yaml: string): ModelVersion[] {
  return parseAllDocuments(yaml).map((d) => d.toJS() as ModelVersion);
}

describe.skipIf(skip)(
  "modelchain import mlflow against a real MLflow tracking server",
  { timeout: 180_000 },
  () => {
    const work = workDir("mlflow-import");
    const models = Object.fromEntries(
      ["base", "tuned", "churn1", "churn2", "ranker"].map((k) => [k, join(work, "models", k)]),
    );
    let server: MlflowServer;
    let made: Made;
    const keyDir = join(work, "keys");
    const key = join(keyDir, "pipeline.pem");
    const pub = join(keyDir, "pipeline.pub.pem");
    const base = kubernetesName("Fraud Detector", "1");
    const tuned = kubernetesName("Fraud Detector", "2");

    const cli = (args: string[], env: Record<string, string> = server.credentials): Promise<CliRun> =>
      runCliAsync(["import", "mlflow", "--tracking-uri", server.url, ...args], undefined, env);
    const proxied = (artifactUri: string, path: string): string =>
      join(server.artifactRoot, artifactUri.replace(/^mlflow-artifacts:\//, ""), path);

    beforeAll(async () => {
      for (const dir of Object.values(models)) writeModel(dir);
      writeFileSync(join(models["base"] ?? "", "MLmodel"), MLMODEL);
      server = await startMlflowServer(work);
      const digests = Object.fromEntries(Object.entries(models).map(([k, dir]) => [k, directoryDigest(dir)]));
      const answer = runPython(
        "log_runs.py",
        { tracking_uri: server.url, models, digests, datasets: DATASETS },
        server.credentials,
        work,
      );
      if (!isMade(answer)) throw new Error(`log_runs.py printed ${JSON.stringify(answer)}`);
      made = answer;
      mkdirSync(keyDir, { recursive: true });
      const keygen = await runCliAsync(["keygen", "--out", keyDir, "--name", "pipeline"]);
      expect(keygen.status, keygen.stderr).toBe(0);
    }, 600_000);

    afterAll(async () => {
      await server?.stop();
    });

    it("imports both Fraud Detector versions with their run's facts, the parent and the artifact's digest", async () => {
      const run = await cli([
        "models:/Fraud Detector/1",
        "--model",
        "Fraud Detector",
        "--version",
        "2",
        "-n",
        "ml",
        "--save",
        join(work, "export"),
      ]);
      expect(run.status, run.stderr).toBe(0);
      const [v1, v2] = modelVersions(run.stdout);
      expect(v1?.metadata).toMatchObject({ name: base, namespace: "ml" });
      expect(v1?.spec).toMatchObject({
        model: "Fraud Detector",
        version: "1",
        artifact: {
          uri: "models:/Fraud Detector/1",
          digest: directoryDigest(models["base"] ?? ""),
          format: "mlflow-model",
        },
        datasets: [
          {
            name: "transactions-2025",
            uri: "https://data.example.com/transactions-2025.parquet",
            digest: DATASETS.transactions,
          },
          { name: "labels-2025", uri: "https://data.example.com/labels-2025.csv", digest: DATASETS.labels },
        ],
        training: {
          runId: made.runs["base"],
          codeCommit: "4e8a2c6f0b3d7e1a5c9f2b6d0e4a8c1f5b9d3e7a",
          codeRepository: "https://git.example.com/ml/fraud",
          framework: "sklearn-1.5.2",
          parameters: { learning_rate: "0.01", epochs: "20", max_depth: "6" },
        },
      });
      expect(v1?.spec.parents).toBeUndefined();
      expect(Date.parse(v1?.spec.training?.finishedAt ?? "")).toBeGreaterThanOrEqual(
        Date.parse(v1?.spec.training?.startedAt ?? ""),
      );
      expect(JSON.parse(v1?.metadata.annotations?.["modelchain.io/mlflow-metrics"] ?? "{}")).toEqual({
        auc: 0.91,
        loss: 0.23,
      });
      expect(v1?.metadata.annotations?.["modelchain.io/mlflow-source"]).toMatch(
        /^mlflow-artifacts:\/.*\/models\/m-[0-9a-f]+\/artifacts$/,
      );
      expect(v2?.metadata.name).toBe(tuned);
      expect(v2?.spec).toMatchObject({
        artifact: { uri: "models:/Fraud Detector/2", digest: directoryDigest(models["tuned"] ?? "") },
        parents: [{ name: base }],
        datasets: [{ name: "chargebacks-2025q3", digest: DATASETS.chargebacks }],
        training: { runId: made.runs["tuned"] },
      });
      expect(run.stderr).toContain(
        `ml/${base}: spec.artifact.uri: models:/Fraud Detector/1's files are at mlflow-artifacts:/`,
      );
      expect(run.stderr).toContain(
        `ml/${tuned}: spec.training.codeCommit: run ${made.runs["tuned"]?.slice(0, 8)}… has no mlflow.source.git.commit tag; left unset`,
      );
      expect(run.stderr).not.toContain("datasetsPinned");
      writeFileSync(join(work, "online.yaml"), run.stdout);
    });

    it("reads the saved export back offline into the same YAML", async () => {
      const offline = await runCliAsync([
        "import",
        "mlflow",
        "--from",
        join(work, "export"),
        "models:/Fraud Detector/1",
        "models:/Fraud Detector/2",
        "-n",
        "ml",
      ]);
      expect(offline.status, offline.stderr).toBe(0);
      expect(offline.stdout).toBe(readFileSync(join(work, "online.yaml"), "utf8"));
      const missing = await runCliAsync([
        "import",
        "mlflow",
        "--from",
        join(work, "export"),
        "models:/churn/1",
      ]);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toContain(`models:/churn/1 is not registered at ${join(work, "export")}`);
    });

    it("imports --all, signed at once with --key and the parent bound, and lineage-check verifies them", async () => {
      const run = await cli(["--all", "-n", "ml", "--key", key, "-o", join(work, "signed.yaml")]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toContain(`bound parent ml/${base}`);
      const signed = modelVersions(readFileSync(join(work, "signed.yaml"), "utf8"));
      expect(signed.map((mv) => `${mv.spec.model}/${mv.spec.version}`)).toEqual([
        "Fraud Detector/1",
        "Fraud Detector/2",
        "churn/1",
        "churn/2",
        "ranker/1",
      ]);
      expect(signed[1]?.spec.parents?.[0]?.specDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(signed.every((mv) => mv.spec.signatures?.length === 1)).toBe(true);
      const check = await runCliAsync(["lineage-check", "-f", join(work, "signed.yaml"), "--trust-key", pub]);
      // ranker/1's dataset has no sha256 digest (the next test): it alone fails.
      expect(check.status, check.stdout + check.stderr).toBe(1);
      const verdicts = JSON.parse(check.stdout) as Array<{
        name: string;
        verified: boolean;
        depth: number;
        failed: string[];
      }>;
      expect(verdicts.map((v) => [v.name, v.verified, v.depth])).toEqual([
        [`ml/${base}`, true, 1],
        [`ml/${tuned}`, true, 2],
        [`ml/${kubernetesName("churn", "1")}`, true, 1],
        [`ml/${kubernetesName("churn", "2")}`, true, 1],
        [`ml/${kubernetesName("ranker", "1")}`, false, 1],
      ]);
      expect(verdicts[4]?.failed).toEqual(['lineage: dataset "clicks" has no sha256 digest']);
    });

    it("says per field that a dataset has no sha256 digest, and keeps the dataset unpinned", async () => {
      const run = await cli(["--model", "ranker", "--version", "1"]);
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toContain(
        `spec.datasets[0].digest: run ${made.runs["ranker"]?.slice(0, 8)}… logged no dataset digest for "clicks" (MLflow's digest "ab12cd34" is its own short hash of the data, not a SHA-256); tag the dataset input modelchain.io/digest=sha256:<hex>: the policy's datasetsPinned check will fail`,
      );
      const [ranker] = modelVersions(run.stdout);
      expect(ranker?.spec.datasets).toEqual([
        { name: "clicks", uri: "https://data.example.com/clicks.parquet" },
      ]);
    });

    it("names the credential variables when the server refuses the request", async () => {
      const run = await cli(["models:/Fraud Detector/1"], {
        MLFLOW_TRACKING_USERNAME: "",
        MLFLOW_TRACKING_PASSWORD: "",
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("HTTP 401");
      expect(run.stderr).toContain(
        "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD",
      );
      expect(run.stdout).toBe("");
    });

    it("fails the import of a version whose artifact changed after registration, naming both digests", async () => {
      const registered = directoryDigest(models["churn1"] ?? "");
      appendFileSync(proxied(made.churn1_artifacts, "model/config.json"), " ");
      const changed = directoryDigest(
        join(server.artifactRoot, made.churn1_artifacts.replace(/^mlflow-artifacts:\//, ""), "model"),
      );
      const run = await cli(["models:/churn/1", "--key", key]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `models:/churn/1: the artifact changed after registration: its files hash to ${changed}, but its modelchain.io/digest tag (recorded at registration) is ${registered}; nothing was written`,
      );
      expect(run.stdout).toBe("");
    });

    it("gives an untagged version's changed artifact another digest than the signed one", async () => {
      const before = await cli(["models:/churn/2", "--key", key]);
      expect(before.status, before.stderr).toBe(0);
      expect(before.stderr).toContain(
        "models:/churn/2 has no modelchain.io/digest tag from its registration",
      );
      const [signed] = modelVersions(before.stdout);
      appendFileSync(proxied(made.churn2_artifacts, "model/model.safetensors"), "x");
      const after = await cli(["models:/churn/2", "--save", join(work, "churn-export")]);
      expect(after.status, after.stderr).toBe(0);
      const [reimported] = modelVersions(after.stdout);
      expect(reimported?.spec.artifact.digest).not.toBe(signed?.spec.artifact.digest);
      const saved = join(
        work,
        "churn-export",
        "artifacts",
        made.churn2_artifacts.replace(/^mlflow-artifacts:\//, ""),
        "model",
      );
      const verify = await runCliAsync([
        "artifact",
        "verify",
        "--path",
        saved,
        "--digest",
        signed?.spec.artifact.digest ?? "",
      ]);
      expect(verify.status).toBe(1);
      expect(verify.stderr).toContain(`expected ${signed?.spec.artifact.digest}`);
    });

    it.skipIf(skipS3)("reads a version kept in S3 from the bucket and names the bucket's URI", async () => {
      const { moto, s3 } = await startMotoBucket("models");
      try {
        const dir = join(work, "models", "scorer");
        writeModel(dir);
        for (const path of ["model.safetensors", "config.json", "tokenizer/vocab.txt"])
          await s3.send(
            new PutObjectCommand({
              Bucket: "models",
              Key: `scorer/3/${path}`,
              Body: readFileSync(join(dir, path)),
            }),
          );
        const registered = runPython(
          "register_source.py",
          { tracking_uri: server.url, name: "scorer", source: "s3://models/scorer/3" },
          server.credentials,
          work,
        );
        expect(registered).toEqual({ version: "1", source: "s3://models/scorer/3" });
        const run = await cli(["models:/scorer/1"], {
          ...server.credentials,
          AWS_ACCESS_KEY_ID: moto.accessKeyId,
          AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
          AWS_REGION: "us-east-1",
          AWS_EC2_METADATA_DISABLED: "true",
          MLFLOW_S3_ENDPOINT_URL: moto.endpoint,
        });
        expect(run.status, run.stderr).toBe(0);
        const [scorer] = modelVersions(run.stdout);
        expect(scorer?.spec.artifact).toEqual({
          uri: "s3://models/scorer/3/",
          digest: directoryDigest(dir),
          sizeBytes: expect.any(Number) as unknown,
        });
        expect(run.stderr).toContain("spec.training: models:/scorer/1 names no source run");
        expect(run.stderr).not.toContain("spec.artifact.uri");
      } finally {
        await moto.stop();
      }
    });

    describe.skipIf(skipCluster)("applied to a real kube-apiserver", () => {
      let cp: ControlPlane;
      let ledger: FileLedger;
      let env: OperatorEnv | undefined;

      beforeAll(async () => {
        env = await startOperatorEnv("mlflow-envtest", { controlPlane: { crds: true } });
        ({ cp, ledger } = env);
      }, 120_000);

      afterAll(async () => env?.stop());

      it("verifies and records the imported, signed ModelVersions", async () => {
        const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
        await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: "ml" } } });
        const publicKey = readFileSync(pub, "utf8");
        const signedKeyId =
          modelVersions(readFileSync(join(work, "signed.yaml"), "utf8"))[0]?.spec.signatures?.[0]?.keyId ??
          "";
        await custom.createClusterCustomObject({
          group: "modelchain.io",
          version: "v1alpha1",
          plural: "modeltrustpolicies",
          body: {
            apiVersion: "modelchain.io/v1alpha1",
            kind: "ModelTrustPolicy",
            metadata: { name: "mlflow-pipeline" },
            spec: { trustedKeys: [{ keyId: signedKeyId, publicKey }] },
          },
        });
        const fraud = modelVersions(readFileSync(join(work, "signed.yaml"), "utf8")).filter(
          (mv) => mv.spec.model === "Fraud Detector",
        );
        for (const mv of fraud)
          await custom.createNamespacedCustomObject({
            group: "modelchain.io",
            version: "v1alpha1",
            namespace: "ml",
            plural: "modelversions",
            body: mv,
          });
        const status = async (name: string) =>
          (
            (await custom.getNamespacedCustomObject({
              group: "modelchain.io",
              version: "v1alpha1",
              namespace: "ml",
              plural: "modelversions",
              name,
            })) as {
              status?: {
                conditions?: Array<{ type: string; status: string; message: string }>;
                ledger?: { index: number };
              };
            }
          ).status;
        for (const name of [base, tuned]) {
          let last: unknown;
          await waitFor(
            `${name} Verified and recorded`,
            async () => {
              const s = await status(name);
              last = s;
              return (
                s?.conditions?.find((c) => c.type === "Verified")?.status === "True" && s.ledger !== undefined
              );
            },
            60_000,
            () => JSON.stringify(last),
          );
        }
        const recorded: string[] = [];
        for (let i = 0; i < (await ledger.size()); i++) {
          const entry = (await ledger.get(i)).envelope.entry;
          if (entry.kind === "ModelVersionRegistered") recorded.push(entry.subject.name);
        }
        expect(recorded.sort()).toEqual([base, tuned].sort());
      });
    });
  },
);
