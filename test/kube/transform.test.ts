// The cache transforms on objects as the real kube-apiserver returns them (bench/fixtures/, captured
// from the envtest control plane with kubectl's, kube-controller-manager's and the kubelet's
// managedFields): what the reconcilers read comes through unchanged, the rest is dropped.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { deploymentForRollouts, podForDrift } from "../../src/kube/index.ts";
import { hashJson } from "../../src/kube/transform.ts";
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

describe("podForDrift: what the Pods of one ReplicaSet hold alike is held once", () => {
  const pod = (name: string, edit: (p: V1Pod) => void = () => {}): V1Pod => {
    const p = fixture<V1Pod>("real-pod.json");
    p.metadata!.name = name;
    p.metadata!.uid = `uid-${name}`;
    edit(p);
    return podForDrift(p);
  };

  it("gives two Pods of one ReplicaSet the same labels, owners, containers and statuses, and their own identity", () => {
    const a = pod("a");
    const b = pod("b");
    expect(b.metadata?.labels).toBe(a.metadata?.labels);
    expect(b.metadata?.ownerReferences).toBe(a.metadata?.ownerReferences);
    expect(b.spec).toBe(a.spec);
    expect(b.status?.containerStatuses).toBe(a.status?.containerStatuses);
    expect([a.metadata?.name, b.metadata?.name]).toEqual(["a", "b"]);
    expect([a.metadata?.uid, b.metadata?.uid]).toEqual(["uid-a", "uid-b"]);
  });

  it("keeps apart parts that differ in one field, each with its own value", () => {
    const a = pod("a");
    const restarted = pod("restarted", (p) => {
      p.status!.containerStatuses![0]!.restartCount = 7;
      p.metadata!.labels = { ...p.metadata!.labels, canary: "true" };
    });
    expect(restarted.status?.containerStatuses).not.toBe(a.status?.containerStatuses);
    expect(restarted.status?.containerStatuses?.[0]?.restartCount).toBe(7);
    expect(a.status?.containerStatuses?.[0]?.restartCount).not.toBe(7);
    expect(restarted.metadata?.labels?.["canary"]).toBe("true");
    expect(a.metadata?.labels?.["canary"]).toBeUndefined();
    // The parts still alike are still shared.
    expect(restarted.spec).toBe(a.spec);
  });

  it("refuses a write to a shared part, which would change every Pod holding it", () => {
    const a = pod("a");
    const b = pod("b");
    expect(() => {
      a.metadata!.labels!["injected"] = "yes";
    }).toThrow(TypeError);
    expect(() => a.spec!.containers.push({ name: "sidecar" })).toThrow(TypeError);
    expect(b.metadata?.labels?.["injected"]).toBeUndefined();
    expect(b.spec?.containers.map((c) => c.name)).not.toContain("sidecar");
  });

  it("keeps apart two label sets whose hashes collide", () => {
    // The first two values of app-0, app-1, ... whose label sets hash alike (found, not assumed).
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; pair === undefined && i < 1_000_000; i++) {
      const value = `app-${i}`;
      const h = hashJson({ app: value }) >>> 0;
      const other = seen.get(h);
      if (other === undefined) seen.set(h, value);
      else pair = [other, value];
    }
    expect(pair).toBeDefined();
    const [first, second] = pair!;
    const a = pod("a", (p) => (p.metadata!.labels = { app: first }));
    const b = pod("b", (p) => (p.metadata!.labels = { app: second }));
    expect(a.metadata?.labels).toEqual({ app: first });
    expect(b.metadata?.labels).toEqual({ app: second });
  });

  it("does not keep a part that no cached Pod holds any more", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    // A Pod with labels no other Pod has, dropped at once: only the table could still hold them.
    const labelsOfAGonePod = (): WeakRef<object> =>
      new WeakRef(pod("gone", (p) => (p.metadata!.labels = { app: "gone-pod-only" })).metadata!.labels!);
    const ref = labelsOfAGonePod();
    await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef's target lives out its job
    gc();
    expect(ref.deref()).toBeUndefined();
    // A Pod with those labels later gets them again, equal and shared from then on.
    const again = pod("again", (p) => (p.metadata!.labels = { app: "gone-pod-only" }));
    expect(again.metadata?.labels).toEqual({ app: "gone-pod-only" });
    expect(pod("again-2", (p) => (p.metadata!.labels = { app: "gone-pod-only" })).metadata?.labels).toBe(
      again.metadata?.labels,
    );
  });
});
