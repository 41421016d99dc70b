import { describe, expect, it } from "vitest";
import type { V1Deployment, V1Lease } from "@kubernetes/client-node";
import { V1MicroTime } from "@kubernetes/client-node";
import { findDrift } from "../../src/controller/drift.ts";
import { deploymentCounts } from "../../src/controller/gauges.ts";
import {
  canAcquire,
  configHash,
  desiredDeployment,
  rolloutOutcome,
  servingConfig,
  templateHash,
} from "../../src/controller/index.ts";
import type { ModelDeployment } from "../../src/api/index.ts";
import { artifactPlan, type ArtifactPod } from "../../src/controller/artifact-pod.ts";
import { sampleObjects } from "../api/samples.ts";

const md = {
  ...(sampleObjects("deployment.yaml")[0] as unknown as ModelDeployment),
  metadata: { name: "support-chat", namespace: "ml", uid: "uid-1" },
};

function ociArtifact(): ArtifactPod {
  const plan = artifactPlan(
    md,
    { uri: "oci://registry.example.com/models/m:1", digest: `sha256:${"b".repeat(64)}` },
    undefined,
  );
  if (!plan.ok) throw new Error(plan.message);
  return plan.pod;
}

describe("the owned Deployment", () => {
  it("is owned by the ModelDeployment, selects its Pods and carries the model's identity", () => {
    const d = desiredDeployment({
      md,
      modelSpecDigest: "sha256:abc",
      configHash: "sha256:def",
      templateHash: "0123456789abcdef",
      ledgerIndex: 7,
      artifact: ociArtifact(),
    });
    expect(d.metadata?.ownerReferences).toEqual([
      {
        apiVersion: "modelchain.io/v1alpha1",
        kind: "ModelDeployment",
        name: "support-chat",
        uid: "uid-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(d.metadata?.annotations).toMatchObject({
      "modelchain.io/model-version": "mistral-7b-support-v2",
      "modelchain.io/spec-digest": "sha256:abc",
      "modelchain.io/ledger-index": "7",
    });
    expect(d.spec?.selector.matchLabels).toEqual({ "modelchain.io/model-deployment": "support-chat" });
    expect(d.spec?.template.metadata?.labels).toMatchObject({
      team: "support-ml",
      "modelchain.io/model-deployment": "support-chat",
    });
    expect(d.spec?.template.spec?.containers[0]).toMatchObject({
      image: md.spec.image,
      args: ["--max-model-len", "8192"],
      ports: [{ name: "http", containerPort: 8000 }],
    });
    expect(d.spec?.template.spec?.volumes).toEqual([
      { name: "config-support-chat-prompts", configMap: { name: "support-chat-prompts" } },
      {
        name: "model",
        image: {
          reference: `registry.example.com/models/m:1@sha256:${"b".repeat(64)}`,
          pullPolicy: "IfNotPresent",
        },
      },
    ]);
  });

  it("hashes the serving config including ConfigMap content, and a rollout by image, config and model", () => {
    const a = configHash(servingConfig(md, { "support-chat-prompts": { "system-prompt.txt": "a" } }));
    const b = configHash(servingConfig(md, { "support-chat-prompts": { "system-prompt.txt": "b" } }));
    expect(a).not.toBe(b);
    expect(configHash(servingConfig(md, { "support-chat-prompts": { "system-prompt.txt": "a" } }))).toBe(a);
    expect(templateHash("img", a, "sha256:1")).not.toBe(templateHash("img", a, "sha256:2"));
    expect(templateHash("img", a, "sha256:1")).toMatch(/^[0-9a-f]{16}$/);
  });
});

function deployment(status: V1Deployment["status"], hash = "h1", generation = 2): V1Deployment {
  return {
    metadata: { generation },
    spec: {
      replicas: 2,
      selector: {},
      template: { metadata: { annotations: { "modelchain.io/template-hash": hash } } },
    },
    status,
  };
}

describe("rollout outcome from Deployment status", () => {
  it.each([
    ["no Deployment yet", undefined, "progressing"],
    [
      "an older generation observed",
      deployment({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
      "progressing",
    ],
    [
      "all replicas updated and available",
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }),
      "completed",
    ],
    [
      "old replicas still running",
      deployment({ observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 3 }),
      "progressing",
    ],
    [
      "the progress deadline exceeded",
      deployment({
        observedGeneration: 2,
        replicas: 2,
        updatedReplicas: 1,
        conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }],
      }),
      "failed",
    ],
    [
      "another template",
      deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }, "other"),
      "progressing",
    ],
  ])("%s → %s", (_what, d, outcome) => {
    expect(rolloutOutcome(d as V1Deployment | undefined, "h1")).toBe(outcome);
  });
});

describe("leader lease", () => {
  const now = new Date("2026-11-25T10:00:00Z");
  const lease = (holder: string | undefined, renewedSecondsAgo: number): V1Lease => ({
    spec: {
      holderIdentity: holder,
      leaseDurationSeconds: 15,
      renewTime: new V1MicroTime(now.getTime() - renewedSecondsAgo * 1000),
    },
  });
  it.each([
    ["free", lease(undefined, 0), true],
    ["ours", lease("me", 1), true],
    ["held by another and fresh", lease("other", 5), false],
    ["held by another and expired", lease("other", 16), true],
  ])("%s → %s", (_what, l, expected) => {
    expect(canAcquire(l, "me", now)).toBe(expected);
  });
});

describe("drift", () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const pod = (name: string, specImage: string, imageID: string | undefined) => ({
    metadata: { name, uid: `uid-${name}` },
    spec: { containers: [{ name: "server", image: specImage }] },
    status: {
      containerStatuses:
        imageID === undefined
          ? []
          : [{ name: "server", image: specImage, imageID, ready: true, restartCount: 0 }],
    },
  });
  it("judges each Pod against its own template and ignores Pods not yet running", () => {
    const pods = [
      pod("old", `r/i@${digest("a")}`, `docker-pullable://r/i@${digest("a")}`),
      pod("new", `r/i@${digest("b")}`, `r/i@${digest("b")}`),
      pod("swapped", `r/i@${digest("b")}`, `r/i@${digest("c")}`),
      pod("pending", `r/i@${digest("b")}`, undefined),
    ];
    expect(findDrift(pods)).toEqual([
      {
        pod: "swapped",
        podUid: "uid-swapped",
        container: "server",
        admitted: digest("b"),
        running: digest("c"),
      },
    ]);
  });
});

describe("deployment gauges", () => {
  it("count verified, unverified, drifted and revoked-in-use deployments per namespace", () => {
    const md = (ns: string, conditions: Array<{ type: string; status: string; reason?: string }>) => ({
      metadata: { namespace: ns, name: "x" },
      status: { conditions },
    });
    const counts = deploymentCounts([
      md("a", [
        { type: "Admitted", status: "True" },
        { type: "Drifted", status: "True" },
      ]),
      md("a", [{ type: "Admitted", status: "False", reason: "ModelRevoked" }]),
      md("b", [{ type: "Admitted", status: "True" }]),
      md("b", []),
    ]);
    expect(Object.fromEntries(counts)).toEqual({
      a: { verified: 1, unverified: 1, drifted: 1, revoked: 1 },
      b: { verified: 1, unverified: 1, drifted: 0, revoked: 0 },
    });
  });
});
