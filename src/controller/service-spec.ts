// The Service a ModelDeployment asks for with spec.service (pure): named like it, selecting its
// Pods, owned by it so that it is garbage-collected with it.
import type { ObjectCache, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { ModelDeployment } from "../api/index.ts";
import { controllerReference, DEPLOYMENT_LABEL, MANAGED_BY } from "./deployment-spec.ts";
import type { KubeWrites } from "./kube.ts";
import { SERVER_PORT_NAME } from "./pod-spec.ts";

/** The owned Service, or undefined when the ModelDeployment asks for none. */
export function desiredService(md: ModelDeployment): V1Service | undefined {
  const service = md.spec.service;
  if (service === undefined) return undefined;
  const name = md.metadata.name;
  const selector = { [DEPLOYMENT_LABEL]: name };
  const targetPort =
    service.targetPort ?? (md.spec.serving?.port === undefined ? service.port : SERVER_PORT_NAME);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: md.metadata.namespace ?? "default",
      labels: { ...MANAGED_BY, ...selector },
      ownerReferences: [controllerReference(md)],
    },
    spec: {
      type: service.type ?? "ClusterIP",
      selector,
      ports: [{ name: SERVER_PORT_NAME, port: service.port, targetPort, protocol: "TCP" }],
    },
  };
}

/** Whether `service` is the one this ModelDeployment (this uid, not a namesake) controls. */
export function ownedBy(service: V1Service, md: ModelDeployment): boolean {
  return (service.metadata?.ownerReferences ?? []).some(
    (r) => r.controller === true && r.kind === "ModelDeployment" && r.uid === md.metadata.uid,
  );
}

/** The fields of a port we set, compared by value (the API server adds nodePort, maybe appProtocol). */
const portKey = (p: V1ServicePort): string =>
  JSON.stringify([p.name ?? "", p.port, String(p.targetPort ?? p.port), p.protocol ?? "TCP"]);

/**
 * Whether the Service's ports are other than ours. Server-side apply merges the ports list by
 * port and protocol, so a port someone else added or changed stays beside ours (and two named
 * `http` make the apply itself invalid): those are replaced, not merged.
 */
export function portsDrifted(observed: V1Service, desired: V1Service): boolean {
  const have = (observed.spec?.ports ?? []).map(portKey);
  const want = (desired.spec?.ports ?? []).map(portKey);
  return have.length !== want.length || have.some((k, i) => k !== want[i]);
}

/**
 * Brings the owned Service to what spec.service says: applied when asked for (which also puts it
 * back after a deletion; edited ports are replaced first), deleted when no longer asked for and
 * still ours.
 */
export async function reconcileService(
  md: ModelDeployment,
  services: ObjectCache<V1Service>,
  writes: Pick<KubeWrites, "applyService" | "deleteService" | "replaceServicePorts">,
): Promise<void> {
  const namespace = md.metadata.namespace ?? "default";
  const existing = services.get(md.metadata.name, namespace);
  const desired = desiredService(md);
  if (desired !== undefined) {
    if (existing !== undefined && ownedBy(existing, md) && portsDrifted(existing, desired))
      await writes.replaceServicePorts(namespace, md.metadata.name, desired.spec?.ports ?? []);
    return writes.applyService(desired);
  }
  const uid = existing?.metadata?.uid;
  if (existing !== undefined && uid !== undefined && ownedBy(existing, md))
    await writes.deleteService(namespace, md.metadata.name, uid);
}
