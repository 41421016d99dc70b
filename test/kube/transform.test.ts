// The cache transforms on objects as the real kube-apiserver returns them (bench/fixtures/, captured
// from the envtest control plane with kubectl's, kube-controller-manager's and the kubelet's
// managedFields): what the reconcilers read comes through unchanged, the rest is dropped.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { deploymentForRollouts, podForDrift } from "../../src/kube/index.ts";
import { rolloutOutcome } from "../../src/controller/deployment-spec.ts";
import { LAST_RECORDED } from "../../src/controller/rollout-stores.ts";

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../bench/fixtures/${name}`, import.meta.url), "utf8")) as T;

describe("deploymentForRollouts", () => {
  const real = (): V1Deployment => {
    const d = fixture<V1Deployment>("real-deployment.json");
    d.metadata!.annotations = {
      ...d.metadata!.annotations,
      [LAST_RECORDED]: '{"v":2,"rollouts":[]}',
      "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(d.spec),
    };
    const c = d.spec!.template.spec!.containers[0]!;
    c.envFrom = [{ configMapRef: { name: "serving" } }];
    c.command = ["serve"];
    d.spec!.template.spec!.volumes = [{ name: "cfg", configMap: { name: "serving" } }];
    return d;
  };

  it("keeps what the labelled-Deployment reconciler reads", () => {
    const full = real();
    const kept = deploymentForRollouts(real());
    expect(kept.metadata).toMatchObject({
      name: full.metadata?.name,
      namespace: full.metadata?.namespace,
      uid: full.metadata?.uid,
      generation: full.metadata?.generation,
      labels: full.metadata?.labels,
      annotations: { [LAST_RECORDED]: '{"v":2,"rollouts":[]}' },
    });
    expect(kept.spec?.replicas).toBe(full.spec?.replicas);
    expect(kept.spec?.selector).toEqual(full.spec?.selector);
    expect(kept.spec?.template.metadata?.labels).toEqual(full.spec?.template.metadata?.labels);
    expect(kept.spec?.template.spec?.volumes).toEqual(full.spec?.template.spec?.volumes);
    const [c] = full.spec!.template.spec!.containers;
    expect(kept.spec?.template.spec?.containers).toEqual([
      {
        name: c!.name,
        image: c!.image,
        command: c!.command,
        args: c!.args,
        env: c!.env,
        envFrom: c!.envFrom,
        resources: c!.resources,
      },
    ]);
    expect(rolloutOutcome(kept)).toBe(rolloutOutcome(full));
    expect(rolloutOutcome(kept)).toBe("completed");
  });

  it("reads a failed rollout as failed, from the condition's reason", () => {
    const full = real();
    full.status!.conditions = [
      { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "…" },
    ];
    expect(rolloutOutcome(deploymentForRollouts(full))).toBe("failed");
  });

  it("drops managedFields, kubectl's last-applied copy, probes, ports and scheduling; a third of the JSON", () => {
    const kept = deploymentForRollouts(real());
    expect(kept.metadata?.managedFields).toBeUndefined();
    expect(Object.keys(kept.metadata?.annotations ?? {})).toEqual([LAST_RECORDED]);
    const c = kept.spec?.template.spec?.containers[0];
    expect(c?.readinessProbe).toBeUndefined();
    expect(c?.ports).toBeUndefined();
    expect(kept.spec?.template.spec?.dnsPolicy).toBeUndefined();
    expect(kept.status?.conditions?.[0]).toEqual({
      type: "Available",
      status: "True",
      reason: "MinimumReplicasAvailable",
    });
    expect(JSON.stringify(kept).length).toBeLessThan(JSON.stringify(real()).length / 3);
  });
});

describe("podForDrift", () => {
  it("keeps identity, labels, owners, images and image IDs of a real Pod", () => {
    const full = fixture<V1Pod>("real-pod.json");
    const kept = podForDrift(fixture<V1Pod>("real-pod.json"));
    expect(kept.metadata?.labels).toEqual(full.metadata?.labels);
    expect(kept.metadata?.ownerReferences).toEqual(full.metadata?.ownerReferences);
    expect(kept.spec?.containers).toEqual(
      full.spec?.containers.map((c) => ({ name: c.name, image: c.image })),
    );
    expect(kept.status?.containerStatuses?.map((s) => s.imageID)).toEqual(
      full.status?.containerStatuses?.map((s) => s.imageID),
    );
    expect(kept.metadata?.managedFields).toBeUndefined();
  });
});
