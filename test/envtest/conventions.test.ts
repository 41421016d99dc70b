// The API conventions, as a user meets them with the real kubectl against a real kube-apiserver
// (and kube-controller-manager), with the operator running and no webhook at all:
// `kubectl wait --for=condition=Ready` on every kind, `kubectl explain` on every field, the CRD
// refusing an image tag by itself, https:// artifacts, and training parameters written as numbers
// and booleans that `modelchain sign` signs and the operator verifies from what the server stored.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parse } from "yaml";
import type { ControlPlane } from "./controlplane.ts";
import { startOperatorEnv, type OperatorEnv } from "./operator-env.ts";
import { skipWithoutAssets } from "./assets.ts";
import { markPodsReady } from "./pods.ts";
import { SAMPLES } from "../api/samples.ts";
import { kubectlBinary } from "../helm/helm.ts";
import { runCliAsync } from "../cli/run-cli.ts";
import { CRD_SOURCES, specDigest, type ModelVersionSpec, type Schema } from "../../src/api/index.ts";
import { yaml11Reading } from "../../src/cli/yaml-readings.ts";
import { argoHealth, HEALTH_LUA } from "../argocd/health.ts";

const skip = skipWithoutAssets("API conventions through kubectl");
const GROUP = { group: "modelchain.io", version: "v1alpha1" };

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}
type Conditions = { conditions?: Array<{ type: string; status: string; reason: string }> };
type Served = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: Conditions & Record<string, unknown>;
};

describe.skipIf(skip)("API conventions through the real kubectl and kube-apiserver", () => {
  let cp: ControlPlane;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let env: OperatorEnv | undefined;
  let dir = "";

  /** kubectl, asynchronously: the operator runs in this process and must keep reconciling. */
  function kubectl(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(kubectlBinary(), args, { env: { ...process.env, KUBECONFIG: cp.kubeconfigPath } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
  }
  async function ok(args: string[], input?: string): Promise<string> {
    const run = await kubectl(args, input);
    expect(run.status, `kubectl ${args.join(" ")}: ${run.stderr}`).toBe(0);
    return run.stdout;
  }
  const get = async (plural: string, name: string, namespace?: string): Promise<Served> =>
    (namespace === undefined
      ? await custom.getClusterCustomObject({ ...GROUP, plural, name })
      : await custom.getNamespacedCustomObject({ ...GROUP, plural, namespace, name })) as Served;
  const types = (o: Served) => (o.status?.conditions ?? []).map((c) => c.type).sort();
  const conditionOf = (o: Served, type: string) => o.status?.conditions?.find((c) => c.type === type);

  beforeAll(async () => {
    env = await startOperatorEnv("conventions", { controlPlane: { controllerManager: true } });
    ({ cp, dir } = env);
    custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
  }, 120_000);

  afterAll(async () => env?.stop());

  describe("with no webhook configured", () => {
    it("runs with no admission webhook in front of the API server", async () => {
      const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
      expect((await admission.listValidatingWebhookConfiguration()).items).toEqual([]);
      expect((await admission.listMutatingWebhookConfiguration()).items).toEqual([]);
    });

    it("refuses a ModelDeployment whose image is a tag, in the CRD schema itself, naming the field", async () => {
      await ok(["apply", "-f", join(SAMPLES, "namespace.yaml")]);
      const run = await kubectl(["apply", "-f", join(SAMPLES, "bad", "unpinned-image.yaml")]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain(
        'The ModelDeployment "chat-unpinned-image" is invalid: spec.image: Invalid value: "registry.example.com/serving/vllm:0.6.3": must be pinned by digest, name[:tag]@sha256:<64 hex>',
      );
      const pinned = "registry.example.com/serving/vllm:0.6.3@sha256:" + "a".repeat(64);
      const manifest = readFileSync(join(SAMPLES, "bad", "unpinned-image.yaml"), "utf8").replace(
        "registry.example.com/serving/vllm:0.6.3",
        pinned,
      );
      await ok(["apply", "--dry-run=server", "-f", "-"], manifest);
    });

    it("accepts an https:// artifact and refuses http://, naming spec.artifact.uri", async () => {
      const base = readFileSync(join(SAMPLES, "base-model.yaml"), "utf8");
      const at = (uri: string) =>
        base
          .replace("uri: hf://mistralai/Mistral-7B-v0.1", `uri: ${uri}`)
          .replace("mistral-7b-base", "https-model");
      await ok(
        ["create", "--dry-run=server", "-f", "-"],
        at("https://models.example.com/mistral-7b/model.safetensors"),
      );
      const http = await kubectl(
        ["create", "--dry-run=server", "-f", "-"],
        at("http://models.example.com/m"),
      );
      expect(http.status).not.toBe(0);
      expect(http.stderr).toMatch(/spec\.artifact\.uri: Invalid value: "http:\/\/models\.example\.com\/m"/);
    });
  });

  describe("kubectl explain", () => {
    it("explains spec.artifact of a ModelVersion from the schema source's descriptions", async () => {
      const out = await ok(["explain", "modelversion.spec.artifact"]);
      const spec = CRD_SOURCES[0]?.schema["properties"] as Record<string, Schema>;
      const artifact = (spec["spec"]?.["properties"] as Record<string, Schema>)["artifact"] ?? {};
      const words = (text: unknown) => String(text).split(/\s+/).join(" ");
      expect(words(out)).toContain(words(artifact["description"]));
      for (const [field, schema] of Object.entries(artifact["properties"] as Record<string, Schema>)) {
        expect(out).toMatch(new RegExp(`^  ${field}\\t<`, "m"));
        expect(words(out)).toContain(words(schema["description"]));
      }
    });

    it.each([
      ["modelversion", /A version of a model: its artifact and digest/],
      ["modelversion.spec.training.parameters", /each a string, a number or a boolean/],
      ["modeldeployment.spec.image", /pinned by digest/],
      ["modeldeployment.status.conditions.type", /Ready \(the summary/],
      ["modeltrustpolicy.spec.mode", /enforce: deny what fails/],
      ["modeltrustpolicy.spec.trustRoots.keyless.identities.subjectRegExp", /regular expression/],
    ])("explains %s", async (path, says) => {
      expect(await ok(["explain", path])).toMatch(says);
    });

    it("has a description for every field the API server publishes (its OpenAPI v3, which kubectl explain reads)", async () => {
      const raw = await ok(["get", "--raw", "/openapi/v3/apis/modelchain.io/v1alpha1"]);
      const doc = JSON.parse(raw) as { components: { schemas: Record<string, Schema> } };
      const missing: string[] = [];
      const walk = (schema: Schema, path: string) => {
        for (const [name, p] of Object.entries((schema["properties"] ?? {}) as Record<string, Schema>)) {
          if (path === "" && name === "metadata") continue; // ObjectMeta, explained by Kubernetes
          if (typeof p["description"] !== "string" || p["description"] === "")
            missing.push(`${path}.${name}`);
          walk(p, `${path}.${name}`);
        }
        if (schema["items"] !== undefined) walk(schema["items"] as Schema, `${path}[]`);
      };
      const kinds = Object.entries(doc.components.schemas).filter(
        ([n]) => n.startsWith("io.modelchain.v1alpha1.") && !n.endsWith("List"),
      );
      expect(kinds.map(([n]) => n).sort()).toEqual([
        "io.modelchain.v1alpha1.ModelDeployment",
        "io.modelchain.v1alpha1.ModelTrustPolicy",
        "io.modelchain.v1alpha1.ModelVersion",
      ]);
      for (const [name, schema] of kinds) walk(schema, name);
      expect(missing).toEqual([]);
    });
  });

  describe("training parameters as written", () => {
    it("stores each plain scalar as kubectl reads it: YAML 1.2's reading, except where yaml11Reading says", async () => {
      const sources = [
        "3e-4",
        "0.0003",
        "1e3",
        "3",
        "true",
        "adamw",
        "yes",
        "off",
        "010",
        "0b101",
        "1_000",
        "-0x1F",
        "08",
        "12:30",
      ];
      const lines = sources.map((s, i) => `      p${i}: ${s}`).join("\n");
      const base = readFileSync(join(SAMPLES, "base-model.yaml"), "utf8");
      const manifest = base
        .replace(/ {4}parameters:\n( {6}.*\n)+/, `    parameters:\n${lines}\n`)
        .replace("mistral-7b-base", "readings");
      const stored = JSON.parse(
        await ok(["create", "--dry-run=server", "-o", "json", "-f", "-"], manifest),
      ) as {
        spec: { training: { parameters: Record<string, unknown> } };
      };
      sources.forEach((s, i) => {
        const want = yaml11Reading(s) ?? parse(s);
        expect(stored.spec.training.parameters[`p${i}`], s).toBe(want);
      });
    });

    it("refuses a list or an object as a parameter in the CRD schema", async () => {
      const base = readFileSync(join(SAMPLES, "base-model.yaml"), "utf8").replace(
        "mistral-7b-base",
        "nested",
      );
      for (const value of ["[1, 2]", "{warmup: 100}", "{}"]) {
        const run = await kubectl(
          ["create", "--dry-run=server", "-f", "-"],
          base.replace('epochs: "1"', `epochs: ${value}`),
        );
        expect(run.status, value).not.toBe(0);
        expect(run.stderr, value).toContain("spec.training.parameters.epochs");
      }
    });

    it("signs learningRate: 3e-4 with modelchain sign, applies it with kubectl, and the operator verifies what was stored", async () => {
      await ok(["apply", "-f", join(SAMPLES, "trust-policy.yaml")]);
      const unsigned = readFileSync(join(SAMPLES, "base-model.yaml"), "utf8")
        .replace(
          / {4}parameters:\n( {6}.*\n)+/,
          "    parameters:\n      learningRate: 3e-4\n      epochs: 1\n      bf16: true\n",
        )
        .replace("name: mistral-7b-base", "name: numeric-params")
        .replace(/ {2}signatures:\n[\s\S]*$/, "");
      writeFileSync(join(dir, "numeric.yaml"), unsigned);
      const signed = join(dir, "numeric.signed.yaml");
      const sign = await runCliAsync([
        "sign",
        "-f",
        join(dir, "numeric.yaml"),
        "--key",
        join(SAMPLES, "keys", "demo-signing.pem"),
        "-o",
        signed,
      ]);
      expect(sign.status, sign.stderr).toBe(0);
      await ok(["apply", "-f", signed]);
      await ok(["wait", "--for=condition=Ready", "-n", "ml", "modelversion/numeric-params", "--timeout=60s"]);
      const mv = await get("modelversions", "numeric-params", "ml");
      const spec = mv.spec as unknown as ModelVersionSpec;
      expect(spec.training?.parameters).toEqual({ learningRate: 0.0003, epochs: 1, bf16: true });
      expect(mv.status?.["specDigest"]).toBe(
        specDigest((parse(readFileSync(signed, "utf8")) as { spec: ModelVersionSpec }).spec),
      );
      expect(conditionOf(mv, "Verified")).toMatchObject({ status: "True", reason: "LineageVerified" });
    });
  });

  describe("kubectl wait --for=condition=Ready on every kind", () => {
    it("waits for the trust policy, the ModelVersions and the ModelDeployment of the samples", async () => {
      for (const file of ["trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml", "deployment.yaml"])
        await ok(["apply", "-f", join(SAMPLES, file)]);
      await ok(["wait", "--for=condition=Ready", "modeltrustpolicy/ml-models", "--timeout=60s"]);
      await ok(["wait", "--for=condition=Ready", "-n", "ml", "modelversion", "--all", "--timeout=60s"]);
      // Its Pods are not ready yet (no kubelet): the rollout is in progress, which kstatus reads
      // from Reconciling and Argo CD from the health check.
      await ok([
        "wait",
        "--for=condition=Reconciling",
        "-n",
        "ml",
        "modeldeployment/support-chat",
        "--timeout=60s",
      ]);
      const rolling = await get("modeldeployments", "support-chat", "ml");
      expect(conditionOf(rolling, "Progressing")).toMatchObject({
        status: "True",
        reason: "ReplicaSetUpdated",
      });
      expect(argoHealth(HEALTH_LUA, rolling).status).toBe("Progressing");
      // Mark the Pods running and ready, as a kubelet would, while kubectl waits.
      let waiting = true;
      const kubelet = (async () => {
        while (waiting) {
          await markPodsReady(core, "ml", "modelchain.io/model-deployment=support-chat");
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      try {
        await ok([
          "wait",
          "--for=condition=Ready",
          "-n",
          "ml",
          "modeldeployment/support-chat",
          "--timeout=120s",
        ]);
      } finally {
        waiting = false;
        await kubelet;
      }
    }, 180_000);

    it("shows a completed rollout as Progressing True (NewReplicaSetAvailable), with no Reconciling or Stalled", async () => {
      const md = await get("modeldeployments", "support-chat", "ml");
      expect(conditionOf(md, "Progressing")).toMatchObject({
        status: "True",
        reason: "NewReplicaSetAvailable",
      });
      expect(conditionOf(md, "Ready")).toMatchObject({ status: "True", reason: "Serving" });
      expect(types(md)).toEqual([
        "Admitted",
        "ArtifactVerified",
        "Available",
        "Drifted",
        "Progressing",
        "Ready",
        "Recorded",
      ]);
      for (const o of [
        md,
        await get("modelversions", "mistral-7b-support-v2", "ml"),
        await get("modeltrustpolicies", "ml-models"),
      ]) {
        // kstatus: Current once status.observedGeneration is the object's generation and nothing is abnormal-true.
        expect(o.status?.["observedGeneration"], o.kind).toBe(o.metadata?.generation);
        for (const c of o.status?.conditions ?? [])
          expect((c as { observedGeneration?: number }).observedGeneration, `${o.kind} ${c.type}`).toBe(
            o.metadata?.generation,
          );
        expect(types(o), o.kind).not.toContain("Reconciling");
        expect(types(o), o.kind).not.toContain("Stalled");
        expect(argoHealth(HEALTH_LUA, o).status, `${o.kind} in Argo CD`).toBe("Healthy");
      }
    });

    it("leaves every status as it is once Ready (statuses compared by value: no reconcile storm)", async () => {
      const versions = async () =>
        Promise.all([
          get("modeldeployments", "support-chat", "ml"),
          get("modelversions", "mistral-7b-support-v2", "ml"),
          get("modelversions", "numeric-params", "ml"),
          get("modeltrustpolicies", "ml-models"),
        ]).then((all) => all.map((o) => o.metadata?.resourceVersion));
      // A last write may still be landing when Ready is first seen (a Pod's update): let it settle,
      // then nothing may change for 3 s. A storm never settles and fails either wait.
      let before = await versions();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const now = await versions();
        if (JSON.stringify(now) === JSON.stringify(before)) break;
        before = now;
      }
      await new Promise((r) => setTimeout(r, 3000));
      expect(await versions()).toEqual(before);
    });

    it("marks what cannot become Ready Stalled, naming why: an unsigned ModelVersion, an invalid policy", async () => {
      await ok(["apply", "-f", join(SAMPLES, "bad", "unsigned.yaml")]);
      await ok([
        "wait",
        "--for=condition=Stalled",
        "-n",
        "ml",
        "modelversion/support-unsigned",
        "--timeout=60s",
      ]);
      await ok([
        "wait",
        "--for=condition=Ready=false",
        "-n",
        "ml",
        "modelversion/support-unsigned",
        "--timeout=10s",
      ]);
      const mv = await get("modelversions", "support-unsigned", "ml");
      expect(conditionOf(mv, "Ready")).toMatchObject({ status: "False", reason: "LineageCheckFailed" });
      expect(argoHealth(HEALTH_LUA, mv)).toMatchObject({ status: "Degraded" });
      // The CRD accepts a regular expression it cannot compile; the operator does not.
      const policy = {
        apiVersion: "modelchain.io/v1alpha1",
        kind: "ModelTrustPolicy",
        metadata: { name: "bad-regexp" },
        spec: {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "nowhere" } },
          trustRoots: [
            {
              name: "k",
              keyless: {
                trustedRoot: {
                  configMapKeyRef: { namespace: "nowhere", name: "root", key: "trusted_root.json" },
                },
                identities: [{ issuer: "https://issuer.example.com", subjectRegExp: "(" }],
              },
            },
          ],
        },
      };
      await ok(["apply", "-f", "-"], JSON.stringify(policy));
      await ok(["wait", "--for=condition=Stalled", "modeltrustpolicy/bad-regexp", "--timeout=60s"]);
      const bad = await get("modeltrustpolicies", "bad-regexp");
      expect(conditionOf(bad, "Accepted")).toMatchObject({ status: "False", reason: "InvalidSpec" });
      expect(argoHealth(HEALTH_LUA, bad)).toMatchObject({ status: "Degraded" });
      expect((bad.status?.conditions ?? []).find((c) => c.type === "Ready")).toMatchObject({
        status: "False",
        reason: "InvalidSpec",
      });
    }, 90_000);
  });
});
