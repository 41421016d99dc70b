// Artifact outcomes as the operator records them: read from the Pod's artifact init container
// (its exit and the termination message the real `modelchain artifact verify` writes), recorded
// once in the ledger with an Event, counted by outcome; and, end to end through the operator on
// the dev API server, an image-volume rollout verified by the kubelet and an unpinned image refused.
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Pod,
} from "@kubernetes/client-node";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Condition, ModelDeployment } from "../../src/api/index.ts";
import { recordArtifactOutcomes } from "../../src/controller/artifact-trail.ts";
import { borrowedLedger, EventRecorder, installCrds, startOperator } from "../../src/controller/index.ts";
import { simulateRollouts, startDevCluster, type DevCluster } from "../../src/devcluster/index.ts";
import { MemoryLedger, type LedgerEntry } from "../../src/ledger/index.ts";
import { registry } from "../../src/metrics/index.ts";
import { createSampleChain, sampleObjects } from "../api/samples.ts";
import { runCliAsync } from "../cli/run-cli.ts";

const H = "0123456789abcdef";
const md = {
  ...(sampleObjects("deployment.yaml")[0] as unknown as ModelDeployment),
  metadata: { name: "support-chat", namespace: "ml", uid: "uid-md" },
};

function pod(name: string, hash: string, exitCode: number, message: string): V1Pod {
  return {
    metadata: {
      name,
      namespace: "ml",
      uid: `uid-${name}`,
      annotations: { "modelchain.io/template-hash": hash },
    },
    status: {
      initContainerStatuses: [
        {
          name: "artifact",
          image: "m",
          imageID: "m",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode, message } },
        },
      ],
    },
  };
}

async function entries(ledger: MemoryLedger): Promise<LedgerEntry[]> {
  const all: LedgerEntry[] = [];
  for (let i = 0; i < (await ledger.size()); i++) all.push((await ledger.get(i)).envelope.entry);
  return all;
}

async function counted(outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric("modelchain_artifact_verifications_total")?.get();
  return metric?.values.find((v) => v.labels["outcome"] === outcome)?.value ?? 0;
}

let cluster: DevCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe("artifact outcomes read from the init container", () => {
  it("records the real verify's failure (expected, actual, first file, Pod) once, with an Event and a count", async () => {
    cluster = await startDevCluster();
    const model = join(mkdtempSync(join(tmpdir(), "mc-outcome-")), "model");
    mkdirSync(model);
    writeFileSync(join(model, "config.json"), "{}");
    const manifest = join(model, "..", "manifest.json");
    const printed = await runCliAsync(["artifact", "digest", "--path", model]);
    writeFileSync(manifest, printed.stdout);
    const { digest } = JSON.parse(printed.stdout) as { digest: string };
    writeFileSync(join(model, "config.json"), '{"tampered": true}');
    const log = join(model, "..", "termination-log");
    const run = await runCliAsync([
      "artifact",
      "verify",
      "--path",
      model,
      "--digest",
      digest,
      "--manifest",
      manifest,
      "--termination-message-path",
      log,
    ]);
    expect(run.status).toBe(1);

    const ledger = new MemoryLedger();
    const recorder = new EventRecorder(cluster.kubeConfig, ledger, "test", pino({ level: "silent" }));
    const artifact = { uri: "pvc://models/chat", digest };
    const pods = [pod("chat-a", H, 1, readFileSync(log, "utf8")), pod("chat-old", "fedcba9876543210", 0, "")];
    const before = await counted("failed");
    const observed = { artifact, rollout: { revision: 2, templateHash: H }, pods, byInitContainer: true };
    const condition = await recordArtifactOutcomes(recorder, md, observed);
    await recordArtifactOutcomes(recorder, md, observed);

    expect(condition).toMatchObject({ type: "ArtifactVerified", status: "False", reason: "DigestMismatch" });
    expect(condition.message).toContain("chat-a");
    const recorded = await entries(ledger);
    expect(recorded.map((e) => e.kind)).toEqual(["ArtifactVerificationFailed"]);
    expect(recorded[0]?.data).toMatchObject({
      revision: 2,
      expected: digest,
      file: "config.json",
      pod: "chat-a",
    });
    expect(String(recorded[0]?.data["actual"])).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(recorded[0]?.data["actual"]).not.toBe(digest);
    expect(await counted("failed")).toBe(before + 1);
    const events = cluster.store
      .list("/v1/events")
      .filter((e) => e["reason"] === "ArtifactVerificationFailed");
    expect(events).toHaveLength(1);
    expect(String(events[0]?.["message"])).toContain(`expected ${digest}`);
  }, 120_000);

  it("records ArtifactVerified once per rollout and digest however many Pods pass", async () => {
    cluster = await startDevCluster();
    const ledger = new MemoryLedger();
    const recorder = new EventRecorder(cluster.kubeConfig, ledger, "test", pino({ level: "silent" }));
    const digest = `sha256:${"e".repeat(64)}`;
    const ok = JSON.stringify({ outcome: "Verified", expected: digest, actual: digest });
    const observed = {
      artifact: { uri: "s3://b/chat/", digest },
      rollout: { revision: 3, templateHash: H },
      pods: [pod("chat-a", H, 0, ok), pod("chat-b", H, 0, ok)],
      byInitContainer: true,
    };
    const condition = await recordArtifactOutcomes(recorder, md, observed);
    await recordArtifactOutcomes(recorder, md, { ...observed, pods: [...observed.pods].reverse() });
    expect(condition).toMatchObject({ status: "True", reason: "DigestMatched" });
    const recorded = await entries(ledger);
    expect(recorded.map((e) => [e.kind, e.key])).toEqual([
      ["ArtifactVerified", `ArtifactVerified/uid-md/3-${H}/${digest}`],
    ]);
  }, 60_000);

  it("emits the Event of an outcome whose append landed though every reply was lost", async () => {
    cluster = await startDevCluster();
    const inner = new MemoryLedger();
    // Each append lands, and its reply never comes back: no pass would ever see a receipt.
    const lossy = Object.create(inner) as MemoryLedger;
    lossy.append = async (batch) => {
      await inner.append(batch);
      throw new Error("injected: acknowledgement lost after the append");
    };
    const recorder = new EventRecorder(cluster.kubeConfig, lossy, "test", pino({ level: "silent" }));
    const digest = `sha256:${"d".repeat(64)}`;
    const ok = JSON.stringify({ outcome: "Verified", expected: digest, actual: digest });
    await recordArtifactOutcomes(recorder, md, {
      artifact: { uri: "s3://b/chat/", digest },
      rollout: { revision: 4, templateHash: H },
      pods: [pod("chat-a", H, 0, ok)],
      byInitContainer: true,
    });
    expect((await entries(inner)).map((e) => e.kind)).toEqual(["ArtifactVerified"]);
    const events = cluster.store.list("/v1/events").filter((e) => e["reason"] === "ArtifactVerified");
    expect(events.map((e) => String(e["message"]))).toEqual([expect.stringMatching(/\(ledger entry 0\)$/)]);
  }, 60_000);
});

/** A Deployment we do not own whose image volume names the model's repository at another digest. */
function labelledWithImageVolume(): KubernetesObject {
  const labels = { app: "chat-own", "modelchain.io/model-version": "mistral-7b-support-v2" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "chat-own", namespace: "ml", labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "chat-own" } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: "server", image: `registry.example.com/serving/vllm@sha256:${"5".repeat(64)}` },
          ],
          volumes: [
            {
              name: "weights",
              image: {
                reference: `registry.example.com/models/mistral-7b-support:2.0.0@sha256:${"0".repeat(64)}`,
              },
            },
          ],
        },
      },
    },
  } as KubernetesObject;
}

describe("the operator and the artifact", () => {
  const condition = async (name: string, type: string): Promise<Condition | undefined> => {
    const custom = cluster?.kubeConfig.makeApiClient(CustomObjectsApi);
    const o = (await custom?.getNamespacedCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modeldeployments",
      name,
    })) as ModelDeployment | undefined;
    return o?.status?.conditions?.find((c) => c.type === type);
  };
  const eventually = async (check: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 50));
  };

  it("records an image-volume rollout as verified by the kubelet, refuses an image named by tag, warns of a labelled image volume at another digest", async () => {
    cluster = await startDevCluster({ uidSeed: "artifact-operator" });
    const stop = simulateRollouts(cluster.store);
    const ledger = new MemoryLedger();
    await installCrds(cluster.kubeConfig);
    const operator = await startOperator({
      kubeConfig: cluster.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "test",
      log: pino({ level: "silent" }),
      progressPollMs: 50,
    });
    try {
      await createSampleChain(cluster.kubeConfig);
      const tagged = {
        ...sampleObjects("deployment.yaml")[0],
        metadata: { name: "support-chat-tag", namespace: "ml" },
      } as Record<string, unknown>;
      tagged["spec"] = { ...(tagged["spec"] as object), image: "registry.example.com/serving/vllm:latest" };
      await KubernetesObjectApi.makeApiClient(cluster.kubeConfig).create(
        tagged as unknown as KubernetesObject,
      );
      await KubernetesObjectApi.makeApiClient(cluster.kubeConfig).create(labelledWithImageVolume());
      await eventually(async () => (await condition("support-chat", "ArtifactVerified"))?.status === "True");
      await eventually(
        async () => (await condition("support-chat-tag", "Admitted"))?.reason === "ImageNotPinned",
      );

      expect(await condition("support-chat", "ArtifactVerified")).toMatchObject({
        status: "True",
        reason: "PulledByDigest",
      });
      const verified = (await entries(ledger)).filter((e) => e.kind === "ArtifactVerified");
      expect(verified).toHaveLength(1);
      expect(verified[0]?.data).toMatchObject({
        verifiedBy: "kubelet",
        uri: expect.stringMatching(/^oci:\/\//) as unknown,
      });
      const deployment = cluster.store.get("apps/v1/deployments", "ml", "support-chat");
      const volumes: Array<{ name: string; image?: { reference: string } }> =
        deployment?.["spec"]?.template?.spec?.volumes ?? [];
      expect(volumes.find((v) => v.name === "model")?.image?.reference).toMatch(/@sha256:[0-9a-f]{64}$/);

      expect(await condition("support-chat-tag", "Admitted")).toMatchObject({
        status: "False",
        reason: "ImageNotPinned",
      });
      expect(cluster.store.get("apps/v1/deployments", "ml", "support-chat-tag")).toBeUndefined();
      expect(cluster.store.list("/v1/events").some((e) => e["reason"] === "ImageNotPinned")).toBe(true);
      await eventually(
        async () =>
          cluster?.store.list("/v1/events").some((e) => e["reason"] === "ArtifactImageVolumeNotPinned") ??
          false,
      );
      const warned = cluster.store
        .list("/v1/events")
        .filter((e) => e["reason"] === "ArtifactImageVolumeNotPinned");
      expect(warned.map((e) => String(e["message"]))).toEqual([
        expect.stringContaining("is not the ModelVersion's artifact digest"),
      ]);
    } finally {
      stop();
      await operator.stop();
    }
  }, 90_000);
});
