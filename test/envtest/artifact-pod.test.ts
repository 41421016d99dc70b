// The owned Deployment of every artifact scheme, written to a real kube-apiserver (1.36, where
// image volumes are on by default) and read back unchanged: the API server neither refuses the
// shape nor silently drops a field it does not know (an image volume with its gate off is dropped).
import { AppsV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelDeployment } from "../../src/api/index.ts";
import { artifactPlan } from "../../src/controller/artifact-pod.ts";
import { desiredDeployment } from "../../src/controller/index.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";

const skip = skipWithoutAssets("artifact Pod shapes against kube-apiserver");

const D = `sha256:${"c".repeat(64)}`;
const FETCHER = `registry.example.com/modelchain@sha256:${"f".repeat(64)}`;
const NAMESPACE = "ml";

const SCHEMES: Record<string, string> = {
  oci: "oci://registry.example.com/models/mistral:2.0.0",
  s3: "s3://bucket/models/chat/",
  gs: "gs://bucket/models/chat/",
  https: "https://models.example.com/chat.gguf",
  hf: "hf://org/chat@0123456789abcdef0123456789abcdef01234567/model.safetensors",
  pvc: "pvc://model-cache/chat/v2",
};

function owned(scheme: string, uri: string) {
  const md: ModelDeployment = {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: `chat-${scheme}`, namespace: NAMESPACE, uid: "0b6c3f0e-6f59-4d0e-9d7e-7a1f2f0c1a11" },
    spec: {
      modelVersion: "mv",
      image: `vllm/vllm-openai@sha256:${"a".repeat(64)}`,
      serving: { port: 8000 },
      artifact: { credentialsSecret: "model-store" },
    },
  };
  const plan = artifactPlan(md, { uri, digest: D }, FETCHER);
  if (!plan.ok) throw new Error(plan.message);
  return desiredDeployment({
    md,
    modelSpecDigest: D,
    configHash: D,
    templateHash: "0123456789abcdef",
    ledgerIndex: 1,
    artifact: plan.pod,
  });
}

describe.skipIf(skip)("owned Deployments with the artifact's Pod shape, on a real kube-apiserver", () => {
  let cp: ControlPlane;
  let apps: AppsV1Api;
  beforeAll(async () => {
    cp = await startControlPlane();
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  }, 120_000);
  afterAll(async () => cp?.stop());

  for (const [scheme, uri] of Object.entries(SCHEMES)) {
    it(`accepts and keeps the ${scheme}:// shape`, async () => {
      const desired = owned(scheme, uri);
      const created = await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: desired });
      const stored = await apps.readNamespacedDeployment({
        namespace: NAMESPACE,
        name: created.metadata?.name ?? "",
      });
      const want = desired.spec?.template.spec;
      const got = stored.spec?.template.spec;
      expect(got?.volumes).toEqual(want?.volumes?.map((v) => expect.objectContaining(v) as unknown));
      expect(got?.containers[0]?.volumeMounts).toEqual(want?.containers[0]?.volumeMounts);
      expect(got?.containers[0]?.env).toEqual(want?.containers[0]?.env);
      expect(got?.initContainers?.map((c) => ({ args: c.args, image: c.image, envFrom: c.envFrom }))).toEqual(
        want?.initContainers?.map((c) => ({ args: c.args, image: c.image, envFrom: c.envFrom })),
      );
      if (scheme === "oci")
        expect(got?.volumes?.find((v) => v.name === "model")?.image?.reference).toBe(
          `registry.example.com/models/mistral:2.0.0@${D}`,
        );
    }, 60_000);
  }
});
