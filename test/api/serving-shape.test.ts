import { describe, expect, it } from "vitest";
import { describeErrors, validateModelDeployment, type ModelDeployment } from "../../src/api/index.ts";
import { sampleObjects } from "./samples.ts";

const gpu = () => structuredClone(sampleObjects("gpu-deployment.yaml")[0]) as unknown as ModelDeployment;
const podTemplate = (md: ModelDeployment) => (md.spec.podTemplate ??= {});
const serving = (md: ModelDeployment) => (md.spec.serving ??= {});

describe("a ModelDeployment's serving Pod", () => {
  it("accepts the GPU sample: upstream shapes, integer GPU counts, env from a Secret and a fieldRef", () => {
    const result = validateModelDeployment(gpu());
    expect(result.ok ? "ok" : describeErrors(result.errors)).toBe("ok");
  });

  it.each([
    [
      "a volume named like the artifact's",
      (md: ModelDeployment) => podTemplate(md).volumes?.push({ name: "model", emptyDir: {} }),
      'spec.podTemplate.volumes[2].name: "model" is the operator\'s',
    ],
    [
      "a volume named like a ConfigMap's",
      (md: ModelDeployment) => podTemplate(md).volumes?.push({ name: "config-prompts", emptyDir: {} }),
      "spec.podTemplate.volumes[2].name:",
    ],
    [
      "an image volume not pinned by digest",
      (md: ModelDeployment) =>
        podTemplate(md).volumes?.push({
          name: "adapters",
          image: { reference: "registry.example.com/lora:v1" },
        }),
      'spec.podTemplate.volumes[2].image.reference: "registry.example.com/lora:v1" is not pinned by digest',
    ],
    [
      "a mount of the artifact's volume",
      (md: ModelDeployment) => serving(md).volumeMounts?.push({ name: "model", mountPath: "/elsewhere" }),
      'spec.serving.volumeMounts[2].name: "model" is the operator\'s volume; the model is mounted at spec.serving.modelPath (/models)',
    ],
    [
      "a mount of a volume that is not there",
      (md: ModelDeployment) => serving(md).volumeMounts?.push({ name: "scratch", mountPath: "/scratch" }),
      'spec.serving.volumeMounts[2].name: no volume "scratch" in spec.podTemplate.volumes',
    ],
    [
      "a mount over the model",
      (md: ModelDeployment) => serving(md).volumeMounts?.push({ name: "cache", mountPath: "/models/" }),
      "spec.serving.volumeMounts[2].mountPath: /models/ overlaps the model's mount at /models",
    ],
    [
      "a mount inside the model",
      (md: ModelDeployment) => serving(md).volumeMounts?.push({ name: "cache", mountPath: "/models/tmp" }),
      "spec.serving.volumeMounts[2].mountPath: /models/tmp overlaps",
    ],
    [
      "a mount above a modelPath",
      (md: ModelDeployment) => {
        serving(md).modelPath = "/data/model";
        serving(md).volumeMounts?.push({ name: "cache", mountPath: "/data" });
      },
      "spec.serving.volumeMounts[2].mountPath: /data overlaps the model's mount at /data/model",
    ],
    [
      "a mount where the ConfigMaps go",
      (md: ModelDeployment) =>
        serving(md).volumeMounts?.push({ name: "cache", mountPath: "/etc/modelchain/x" }),
      "spec.serving.volumeMounts[2].mountPath: /etc/modelchain is where the ConfigMaps are mounted",
    ],
    [
      "a targetPort out of range",
      (md: ModelDeployment) => (md.spec.service = { port: 80, targetPort: 70000 }),
      "spec.service.targetPort: must be a port number (1-65535) or a container port name",
    ],
    [
      "a targetPort that is no port name",
      (md: ModelDeployment) => (md.spec.service = { port: 80, targetPort: "Not_A_Name" }),
      "spec.service.targetPort:",
    ],
    [
      "a toleration field Kubernetes does not have",
      (md: ModelDeployment) => Object.assign(podTemplate(md).tolerations?.[0] ?? {}, { tolerance: 1 }),
      "spec.podTemplate.tolerations[0].tolerance: is not a known field",
    ],
    [
      "a GPU count that is no quantity",
      (md: ModelDeployment) =>
        Object.assign(serving(md).resources?.limits ?? {}, { "nvidia.com/gpu": "one" }),
      "spec.serving.resources.limits.nvidia.com/gpu: must match",
    ],
  ])("refuses %s, naming the field", (_what, mutate, message) => {
    const md = gpu();
    mutate(md);
    const result = validateModelDeployment(md);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(describeErrors(result.errors)).toContain(message);
  });
});
