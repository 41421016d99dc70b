// The Pod shape that delivers each kind of artifact, and what the operator refuses to write.
import { describe, expect, it } from "vitest";
import type { ModelDeployment, ModelVersion } from "../../src/api/index.ts";
import { artifactPlan, imageVolumeProblems, type ArtifactPod } from "../../src/controller/artifact-pod.ts";
import { delivery } from "../../src/controller/delivery.ts";
import { desiredDeployment } from "../../src/controller/index.ts";

const D = `sha256:${"c".repeat(64)}`;
const FETCHER = `registry.example.com/modelchain@sha256:${"f".repeat(64)}`;
const md: ModelDeployment = {
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelDeployment",
  metadata: { name: "chat", namespace: "ml", uid: "u1" },
  spec: {
    modelVersion: "mv",
    image: `vllm/vllm-openai@sha256:${"a".repeat(64)}`,
    serving: {
      env: [
        { name: "MODEL_PATH", value: "/elsewhere" },
        { name: "X", value: "1" },
      ],
    },
    artifact: { credentialsSecret: "model-store" },
  },
};

function pod(uri: string, deployment: ModelDeployment = md): ArtifactPod {
  const plan = artifactPlan(deployment, { uri, digest: D }, FETCHER);
  if (!plan.ok) throw new Error(plan.message);
  return plan.pod;
}

function podSpec(uri: string, deployment: ModelDeployment = md) {
  const d = desiredDeployment({
    md: deployment,
    modelSpecDigest: D,
    configHash: D,
    templateHash: "0123456789abcdef",
    ledgerIndex: 1,
    artifact: pod(uri, deployment),
  });
  const spec = d.spec?.template.spec;
  if (spec === undefined) throw new Error("no pod spec");
  return spec;
}

describe("the Pod that receives the artifact", () => {
  it("oci://: an image volume pinned to the artifact digest, read-only at /models, no init container", () => {
    const spec = podSpec("oci://registry.example.com/models/mistral:2.0.0");
    expect(spec.volumes).toContainEqual({
      name: "model",
      image: { reference: `registry.example.com/models/mistral:2.0.0@${D}`, pullPolicy: "IfNotPresent" },
    });
    expect(spec.initContainers).toBeUndefined();
    expect(spec.containers[0]?.volumeMounts).toContainEqual({
      name: "model",
      mountPath: "/models",
      readOnly: true,
    });
    // The server is told where the model is once; a MODEL_PATH of its own is replaced.
    expect(spec.containers[0]?.env).toEqual([
      { name: "X", value: "1" },
      { name: "MODEL_PATH", value: "/models" },
    ]);
  });

  for (const uri of [
    "s3://bucket/models/chat/",
    "gs://bucket/chat/",
    "https://models.example.com/chat.gguf",
    "hf://org/chat@0123abc/model.safetensors",
  ]) {
    it(`${uri.split(":")[0]}://: an init container fetches into an emptyDir; the server mounts only the verified folder`, () => {
      const spec = podSpec(uri);
      expect(spec.volumes).toContainEqual({ name: "model", emptyDir: {} });
      expect(spec.initContainers).toEqual([
        {
          name: "artifact",
          image: FETCHER,
          // Node with V8's optimising compilers off, as the image's entry point runs the CLI.
          command: ["node", "--no-opt", "--no-maglev", "--single-threaded-gc", "/app/dist/cli/bin.js"],
          args: [
            "artifact",
            "fetch",
            "--uri",
            uri,
            "--digest",
            D,
            "--dest",
            "/artifact/model",
            "--termination-message-path",
            "/dev/termination-log",
          ],
          // A small young generation and one V8 worker: a lower peak RSS (bench/artifact-fetch.ts).
          env: [{ name: "NODE_OPTIONS", value: "--max-semi-space-size=1 --v8-pool-size=1" }],
          volumeMounts: [{ name: "model", mountPath: "/artifact" }],
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "FallbackToLogsOnError",
          envFrom: [{ secretRef: { name: "model-store" } }],
        },
      ]);
      expect(spec.containers[0]?.volumeMounts).toContainEqual({
        name: "model",
        mountPath: "/models",
        readOnly: true,
        subPath: "model",
      });
      // Only the init container sees the store's credentials.
      expect(spec.containers[0]?.envFrom).toBeUndefined();
    });
  }

  it("pvc://: the claim read-only, verified by an init container before the server starts", () => {
    const spec = podSpec("pvc://model-cache/chat/v2", {
      ...md,
      spec: { ...md.spec, serving: { modelPath: "/mnt/m" } },
    });
    expect(spec.volumes).toContainEqual({
      name: "model",
      persistentVolumeClaim: { claimName: "model-cache", readOnly: true },
    });
    expect(spec.initContainers?.[0]?.args).toEqual([
      "artifact",
      "verify",
      "--path",
      "/artifact/chat/v2",
      "--digest",
      D,
      "--termination-message-path",
      "/dev/termination-log",
    ]);
    expect(spec.initContainers?.[0]?.volumeMounts).toEqual([
      { name: "model", mountPath: "/artifact", readOnly: true },
    ]);
    expect(spec.containers[0]?.volumeMounts).toContainEqual({
      name: "model",
      mountPath: "/mnt/m",
      readOnly: true,
      subPath: "chat/v2",
    });
    expect(spec.containers[0]?.env).toContainEqual({ name: "MODEL_PATH", value: "/mnt/m" });
  });
});

describe("what the operator refuses to roll out", () => {
  const mv = (uri: string): ModelVersion => ({
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelVersion",
    metadata: { name: "mv", namespace: "ml" },
    spec: { model: "m", version: "1", artifact: { uri, digest: D } },
  });
  const refusal = (deployment: ModelDeployment, uri: string, fetcher: string | undefined) => {
    const d = delivery(deployment, mv(uri), fetcher);
    return d.ok ? undefined : d.refusal;
  };

  it("a serving image named by tag", () => {
    expect(
      refusal({ ...md, spec: { ...md.spec, image: "vllm/vllm-openai:latest" } }, "oci://r/m", FETCHER),
    ).toMatchObject({
      type: "Admitted",
      status: "False",
      reason: "ImageNotPinned",
      message: expect.stringContaining("vllm/vllm-openai:latest") as unknown,
    });
  });

  it("a fetched artifact when the fetcher image is unset or not pinned", () => {
    expect(refusal(md, "s3://b/k", undefined)?.reason).toBe("ArtifactFetcherNotPinned");
    expect(refusal(md, "s3://b/k", "modelchain:latest")?.reason).toBe("ArtifactFetcherNotPinned");
    expect(refusal(md, "oci://r/m", undefined)).toBeUndefined();
  });

  it("an artifact URI no Pod shape can deliver", () => {
    expect(refusal(md, "hf://org/model-without-revision", FETCHER)).toMatchObject({
      reason: "ArtifactUriUnsupported",
    });
    expect(refusal(md, `oci://r/m@${D}`, FETCHER)).toMatchObject({ reason: "ArtifactUriUnsupported" });
    expect(refusal(md, "pvc://Not_A_Claim/x", FETCHER)).toMatchObject({ reason: "ArtifactUriUnsupported" });
  });

  it.each(["models:/Fraud Detector/3", "runs:/0a1b2c/model"])(
    "an MLflow URI %s, which the operator does not fetch, whatever the fetcher image",
    (uri) => {
      for (const fetcher of [FETCHER, undefined])
        expect(refusal(md, uri, fetcher)).toMatchObject({
          reason: "ArtifactUriUnsupported",
          message: expect.stringContaining("does not fetch") as unknown,
        });
    },
  );
});

describe("image volumes of a labelled Deployment", () => {
  const artifact = { uri: "oci://registry.example.com:5000/models/chat:2", digest: D };
  const volume = (reference: string) => ({ name: "weights", image: { reference } });
  it("must be pinned, and pinned to the ModelVersion's digest when they name its oci:// repository", () => {
    expect(imageVolumeProblems([volume(`registry.example.com:5000/models/chat@${D}`)], artifact)).toEqual([]);
    expect(imageVolumeProblems([volume(`registry.example.com:5000/models/chat:2@${D}`)], artifact)).toEqual(
      [],
    );
    expect(
      imageVolumeProblems(
        [volume(`registry.example.com:5000/models/chat@sha256:${"0".repeat(64)}`)],
        artifact,
      ),
    ).toEqual([expect.stringContaining(`is not the ModelVersion's artifact digest ${D}`)]);
    expect(imageVolumeProblems([volume("registry.example.com:5000/models/chat:2")], artifact)).toEqual([
      expect.stringContaining("is not pinned by digest"),
    ]);
    expect(
      imageVolumeProblems(
        [volume(`other/tools@sha256:${"1".repeat(64)}`), { name: "cfg", configMap: { name: "c" } }],
        artifact,
      ),
    ).toEqual([]);
    // Whatever the artifact's scheme, a tag may be moved to other bytes.
    const s3 = { uri: "s3://b/k", digest: D };
    expect(imageVolumeProblems([volume("registry.example.com:5000/models/chat:2")], s3)).toEqual([
      expect.stringContaining("is not pinned by digest"),
    ]);
    expect(
      imageVolumeProblems([volume(`registry.example.com:5000/models/chat@sha256:${"0".repeat(64)}`)], s3),
    ).toEqual([]);
  });
});
