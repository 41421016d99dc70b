// What a kubelet would do, for a control plane that runs none: mark a Deployment's Pods running
// and ready, so its status (and the rollout entries that follow it) move on.
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from "@kubernetes/client-node";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** Marks the Pods matching `selector` ready; returns how many there are. */
export async function markPodsReady(core: CoreV1Api, namespace: string, selector: string): Promise<number> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
  const now = new Date();
  for (const pod of pods.items) {
    if (pod.status?.phase === "Running") continue;
    const containers = pod.spec?.containers ?? [];
    await core.patchNamespacedPodStatus(
      {
        namespace,
        name: pod.metadata?.name ?? "",
        body: {
          status: {
            phase: "Running",
            conditions: [
              { type: "Ready", status: "True", lastTransitionTime: now },
              { type: "ContainersReady", status: "True", lastTransitionTime: now },
            ],
            containerStatuses: containers.map((c) => ({
              name: c.name,
              image: c.image ?? "",
              imageID: c.image ?? "",
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: now } },
            })),
          },
        },
      },
      merge,
    );
  }
  return pods.items.length;
}
