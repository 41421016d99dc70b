import { describe, expect, it } from "vitest";
import type { V1Service } from "@kubernetes/client-node";
import type { ModelDeployment } from "../../src/api/index.ts";
import { configHash, desiredDeployment, servingConfig } from "../../src/controller/index.ts";
import { redactedConfig } from "../../src/controller/deployment-spec.ts";
import { artifactPlan, type ArtifactPod } from "../../src/controller/artifact-pod.ts";
import { invalidPodTemplateCondition } from "../../src/controller/modeldeployment-status.ts";
import { desiredService, portsDrifted } from "../../src/controller/service-spec.ts";
import { sampleObjects } from "../api/samples.ts";

const gpu = (): ModelDeployment => ({
  ...(structuredClone(sampleObjects("gpu-deployment.yaml")[0]) as unknown as ModelDeployment),
  metadata: { name: "support-chat-gpu", namespace: "ml", uid: "uid-1" },
});

function artifact(md: ModelDeployment): ArtifactPod {
  const plan = artifactPlan(md, { uri: "oci://r/models/m:1", digest: `sha256:${"b".repeat(64)}` }, undefined);
  if (!plan.ok) throw new Error(plan.message);
  return plan.pod;
}

const podOf = (md: ModelDeployment) =>
  desiredDeployment({
    md,
    modelSpecDigest: "sha256:abc",
    configHash: "sha256:def",
    templateHash: "0123456789abcdef",
    ledgerIndex: 1,
    artifact: artifact(md),
  }).spec?.template.spec;

describe("the serving Pod of a GPU ModelDeployment", () => {
  it("carries every pod and container field, the user's volumes, mounts and env before the operator's", () => {
    const md = gpu();
    const pod = podOf(md);
    const want = md.spec.podTemplate ?? {};
    expect(pod).toMatchObject({
      tolerations: want.tolerations,
      affinity: want.affinity,
      topologySpreadConstraints: want.topologySpreadConstraints,
      runtimeClassName: "nvidia",
      nodeSelector: want.nodeSelector,
      securityContext: want.securityContext,
    });
    expect(pod?.volumes?.map((v) => v.name)).toEqual(["dshm", "cache", "model"]);
    const server = pod?.containers[0];
    const serving = md.spec.serving ?? {};
    expect(server?.env?.map((e) => e.name)).toEqual([
      "HF_TOKEN",
      "HF_HOME",
      "VLLM_LOGGING_LEVEL",
      "POD_NAME",
      "MODEL_PATH",
    ]);
    expect(server?.volumeMounts?.map((m) => m.mountPath)).toEqual(["/dev/shm", "/cache", "/models"]);
    expect(server).toMatchObject({
      resources: serving.resources,
      livenessProbe: serving.livenessProbe,
      readinessProbe: serving.readinessProbe,
      startupProbe: serving.startupProbe,
      securityContext: serving.securityContext,
    });
  });

  it("leaves out what is not set (no undefined fields in the applied object)", () => {
    const md = gpu();
    md.spec.serving = { port: 8000 };
    md.spec.podTemplate = {};
    const pod = podOf(md);
    expect(Object.keys(pod ?? {}).sort()).toEqual(["containers", "volumes"]);
    expect(Object.keys(pod?.containers[0] ?? {}).sort()).toEqual([
      "args",
      "env",
      "image",
      "name",
      "ports",
      "volumeMounts",
    ]);
  });
});

describe("the config hash of a GPU ModelDeployment", () => {
  const hash = (md: ModelDeployment) => configHash(servingConfig(md, {}));
  const pt = (md: ModelDeployment) => md.spec.podTemplate ?? {};
  const sv = (md: ModelDeployment) => md.spec.serving ?? {};
  it.each<[string, (md: ModelDeployment) => void]>([
    ["a toleration", (md) => pt(md).tolerations?.push({ key: "dedicated", operator: "Exists" })],
    ["the affinity", (md) => (pt(md).affinity = {})],
    ["a topology spread constraint", (md) => pt(md).topologySpreadConstraints?.splice(0)],
    ["the runtimeClassName", (md) => (pt(md).runtimeClassName = "nvidia-cdi")],
    ["the nodeSelector", (md) => (pt(md).nodeSelector = {})],
    ["the Pod's securityContext", (md) => (pt(md).securityContext = { runAsNonRoot: true })],
    ["a volume", (md) => pt(md).volumes?.pop()],
    ["a Pod label", (md) => (pt(md).labels = {})],
    ["a mount", (md) => sv(md).volumeMounts?.pop()],
    ["a probe", (md) => (sv(md).startupProbe = undefined)],
    ["the container's securityContext", (md) => (sv(md).securityContext = {})],
    [
      "the Secret key an env var comes from",
      (md) =>
        (sv(md).env = [
          { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf-token", key: "other" } } },
        ]),
    ],
    ["the GPU count", (md) => Object.assign(sv(md).resources?.limits ?? {}, { "nvidia.com/gpu": 2 })],
  ])("changes with %s", (_what, mutate) => {
    const md = gpu();
    const before = hash(md);
    mutate(md);
    expect(hash(md)).not.toBe(before);
  });

  it("hashes a ModelDeployment without the newer fields as before (no new keys)", () => {
    const md = gpu();
    md.spec.serving = { port: 8000, args: ["a"] };
    delete md.spec.podTemplate;
    expect(Object.keys(servingConfig(md, {})).sort()).toEqual([
      "args",
      "configMaps",
      "env",
      "port",
      "resources",
    ]);
  });

  it("records an env var from a Secret as its reference and a literal value as its digest", () => {
    const redacted = redactedConfig(servingConfig(gpu(), {}));
    expect(redacted["env"]).toMatchObject({
      HF_TOKEN: { valueFrom: { secretKeyRef: { name: "hf-token", key: "token" } } },
      VLLM_LOGGING_LEVEL: { value: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) as unknown },
    });
    expect(JSON.stringify(redacted)).not.toContain('"INFO"');
  });
});

describe("the owned Service", () => {
  it("targets the container port by name when the server has one, else the Service port", () => {
    const md = gpu();
    expect(desiredService(md)?.spec).toEqual({
      type: "ClusterIP",
      selector: { "modelchain.io/model-deployment": "support-chat-gpu" },
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    });
    delete md.spec.serving?.port;
    expect(desiredService(md)?.spec?.ports?.[0]?.targetPort).toBe(80);
    delete md.spec.service;
    expect(desiredService(md)).toBeUndefined();
  });

  it("compares ports by value: what the API server adds is no drift, another port is", () => {
    const desired = desiredService(gpu()) as V1Service;
    const observed = (ports: NonNullable<V1Service["spec"]>["ports"]): V1Service => ({ spec: { ports } });
    expect(
      portsDrifted(
        observed([{ name: "http", port: 80, targetPort: "http", protocol: "TCP", nodePort: 30080 }]),
        desired,
      ),
    ).toBe(false);
    expect(
      portsDrifted(observed([{ name: "http", port: 9999, targetPort: "http", protocol: "TCP" }]), desired),
    ).toBe(true);
    const extra = [
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "metrics", port: 9090 },
    ];
    expect(portsDrifted(observed(extra), desired)).toBe(true);
  });
});

describe("a pod template the API server refuses", () => {
  it("names the ModelDeployment's fields where the Deployment's map to them", () => {
    const c = invalidPodTemplateCondition([
      { field: "spec.template.spec.tolerations[0].operator", message: "Invalid value" },
      { field: "spec.template.spec.containers[0].livenessProbe", message: "must specify a handler type" },
      { field: "metadata.name", message: "x" },
    ]);
    expect(c).toMatchObject({ type: "Admitted", status: "False", reason: "InvalidPodTemplate" });
    expect(c.message).toContain("spec.podTemplate.tolerations[0].operator: Invalid value");
    expect(c.message).toContain("spec.serving.livenessProbe: must specify a handler type");
    expect(c.message).toContain("metadata.name: x");
  });
});
