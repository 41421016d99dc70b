// The operator's writes to the API server, one function per operation, each failing with an
// error named after it (usable as a metric label).
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
  type V1ServicePort,
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/index.ts";

export const FIELD_MANAGER = "modelchain-operator";

/** The data of the named ConfigMaps (a missing one reads as empty: its absence is part of the config). */
export async function configMapData(
  core: CoreV1Api,
  namespace: string,
  names: readonly string[],
): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of [...new Set(names)].sort()) {
    try {
      out[name] = (await core.readNamespacedConfigMap({ name, namespace })).data ?? {};
    } catch (e: unknown) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
      out[name] = {};
    }
  }
  return out;
}

class OperationFailed extends Error {
  constructor(name: string, what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = name;
  }
}
export class UpdateStatusFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("UpdateStatusFailed", what, cause);
  }
}
export class ApplyFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("ApplyFailed", what, cause);
  }
}
export class FinalizerFailed extends OperationFailed {
  constructor(what: string, cause: unknown) {
    super("FinalizerFailed", what, cause);
  }
}

/**
 * What the API server found wrong with an object it was asked to write (422 Invalid), one line per
 * field: a verdict on the input, not a reason to retry.
 */
export class ObjectInvalid extends Error {
  readonly causes: Array<{ field: string; message: string }>;
  constructor(what: string, causes: Array<{ field: string; message: string }>, cause: unknown) {
    super(`${what} is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join("; ")}`, { cause });
    this.name = "ObjectInvalid";
    this.causes = causes;
  }
}

/** The field causes of a 422 Status, or undefined for any other error. */
function invalidCauses(e: unknown): Array<{ field: string; message: string }> | undefined {
  if (!(e instanceof ApiException) || e.code !== 422) return undefined;
  const body: unknown = typeof e.body === "string" ? safeJson(e.body) : e.body;
  const details = isRecord(body) && isRecord(body["details"]) ? body["details"] : {};
  const causes = Array.isArray(details["causes"]) ? details["causes"] : [];
  const listed = causes.filter(isRecord).map((c) => ({
    field: typeof c["field"] === "string" ? c["field"] : "(object)",
    message: typeof c["message"] === "string" ? c["message"] : "invalid",
  }));
  const message = isRecord(body) && typeof body["message"] === "string" ? body["message"] : e.message;
  return listed.length > 0 ? listed : [{ field: "(object)", message }];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface KubeWrites {
  patchStatus(plural: string, namespace: string, name: string, status: unknown): Promise<void>;
  /** The status of a cluster-scoped object (ModelTrustPolicy). */
  patchClusterStatus(plural: string, name: string, status: unknown): Promise<void>;
  applyDeployment(deployment: V1Deployment): Promise<void>;
  /** A server-side dry run of the apply: throws ObjectInvalid when the API server would refuse it. */
  dryRunDeployment(deployment: V1Deployment): Promise<void>;
  applyService(service: V1Service): Promise<void>;
  /** A merge patch of spec.ports: the list as given, whoever added the entries it replaces. */
  replaceServicePorts(namespace: string, name: string, ports: V1ServicePort[]): Promise<void>;
  /** Deletes the Service only if it is still the object with this uid (a precondition). */
  deleteService(namespace: string, name: string, uid: string): Promise<void>;
  scaleDeployment(namespace: string, name: string, replicas: number): Promise<void>;
  /** Merge-patches annotations onto a Deployment we do not own (metadata only; no rollout). */
  annotateDeployment(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  /** JSON Patch with a `test` of the current list first, so a concurrent change fails safely. */
  setFinalizers(
    plural: string,
    namespace: string,
    name: string,
    current: string[] | undefined,
    next: string[],
  ): Promise<void>;
}

type Apply = (object: KubernetesObject, kind: string, dryRun?: "All") => Promise<void>;

/** Server-side apply as the operator's field manager, taking over fields others changed. */
function applier(kc: KubeConfig): Apply {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  return async (object, kind, dryRun) => {
    const what = `${kind} ${object.metadata?.namespace}/${object.metadata?.name}`;
    try {
      await objects.patch(object, undefined, dryRun, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (e: unknown) {
      const causes = invalidCauses(e);
      if (causes !== undefined) throw new ObjectInvalid(what, causes, e);
      throw new ApplyFailed(what, e);
    }
  };
}

/** The owned Service's writes. */
function serviceWrites(
  kc: KubeConfig,
  apply: Apply,
): Pick<KubeWrites, "applyService" | "replaceServicePorts" | "deleteService"> {
  const core = kc.makeApiClient(CoreV1Api);
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  return {
    async applyService(service) {
      await apply(service, "Service");
    },
    async replaceServicePorts(namespace, name, ports) {
      try {
        await core.patchNamespacedService({ namespace, name, body: { spec: { ports } } }, merge);
      } catch (e: unknown) {
        throw new ApplyFailed(`ports of Service ${namespace}/${name}`, e);
      }
    },
    async deleteService(namespace, name, uid) {
      try {
        await core.deleteNamespacedService({ namespace, name, body: { preconditions: { uid } } });
      } catch (e: unknown) {
        // Gone already, or another object by now (409 on the uid precondition): not ours to delete.
        if (e instanceof ApiException && (e.code === 404 || e.code === 409)) return;
        throw new ApplyFailed(`delete of Service ${namespace}/${name}`, e);
      }
    },
  };
}

export function kubeWrites(kc: KubeConfig): KubeWrites {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
  const apply = applier(kc);
  return {
    ...serviceWrites(kc, apply),
    async patchStatus(plural, namespace, name, status) {
      try {
        await custom.patchNamespacedCustomObjectStatus(
          { group: GROUP, version: VERSION, plural, namespace, name, body: { status } },
          merge,
        );
      } catch (e: unknown) {
        throw new UpdateStatusFailed(`status of ${plural} ${namespace}/${name}`, e);
      }
    },
    async patchClusterStatus(plural, name, status) {
      try {
        await custom.patchClusterCustomObjectStatus(
          { group: GROUP, version: VERSION, plural, name, body: { status } },
          merge,
        );
      } catch (e: unknown) {
        throw new UpdateStatusFailed(`status of ${plural} ${name}`, e);
      }
    },
    async applyDeployment(deployment) {
      await apply(deployment, "Deployment");
    },
    async dryRunDeployment(deployment) {
      await apply(deployment, "Deployment", "All");
    },
    async scaleDeployment(namespace, name, replicas) {
      try {
        await apps.patchNamespacedDeploymentScale({ namespace, name, body: { spec: { replicas } } }, merge);
      } catch (e: unknown) {
        throw new ApplyFailed(`scale of Deployment ${namespace}/${name}`, e);
      }
    },
    async annotateDeployment(namespace, name, annotations) {
      try {
        await apps.patchNamespacedDeployment({ namespace, name, body: { metadata: { annotations } } }, merge);
      } catch (e: unknown) {
        throw new ApplyFailed(`annotations of Deployment ${namespace}/${name}`, e);
      }
    },
    async setFinalizers(plural, namespace, name, current, next) {
      const ops =
        current === undefined
          ? [{ op: "add", path: "/metadata/finalizers", value: next }]
          : [
              { op: "test", path: "/metadata/finalizers", value: current },
              { op: "replace", path: "/metadata/finalizers", value: next },
            ];
      try {
        await custom.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural, namespace, name, body: ops },
          jsonPatch,
        );
      } catch (e: unknown) {
        throw new FinalizerFailed(`finalizers of ${plural} ${namespace}/${name}`, e);
      }
    },
  };
}
