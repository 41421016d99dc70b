// Drift: a running Pod whose image digest (status.containerStatuses[].imageID) is not the
// digest that was admitted. Pure functions over observed Pods.
import type { V1Pod } from "@kubernetes/client-node";
import { recording, type Recording } from "../trail/index.ts";

const DIGEST = /sha256:[a-f0-9]{64}/;

/** The sha256 digest an image reference or imageID names, if any. */
export function digestOf(image: string | undefined): string | undefined {
  return image === undefined ? undefined : DIGEST.exec(image)?.[0];
}

export interface Drift {
  pod: string;
  podUid: string;
  container: string;
  admitted: string;
  running: string;
}

/**
 * Pods running a digest other than the one their own spec was admitted with. Each Pod is
 * judged against its own template: during a rollout the old Pods legitimately run the old
 * image, and that is not drift.
 */
export function findDrift(pods: readonly V1Pod[]): Drift[] {
  return pods.flatMap((pod) =>
    (pod.status?.containerStatuses ?? []).flatMap((status) => {
      const admitted = digestOf(pod.spec?.containers.find((c) => c.name === status.name)?.image);
      const running = digestOf(status.imageID);
      if (admitted === undefined || running === undefined || admitted === running) return [];
      return [
        {
          pod: pod.metadata?.name ?? "",
          podUid: pod.metadata?.uid ?? "",
          container: status.name,
          admitted,
          running,
        },
      ];
    }),
  );
}

/** The ledger recording of one drifted container, once per Pod and running digest. */
export function driftRecording(d: Drift): Recording<"DriftDetected"> {
  return recording(
    "DriftDetected",
    { podUid: d.podUid, running: d.running },
    { pod: d.pod, container: d.container, admitted: d.admitted, running: d.running },
    `pod ${d.pod} runs ${d.running}, not the admitted ${d.admitted}`,
  );
}
