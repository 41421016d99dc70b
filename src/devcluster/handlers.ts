// What each verb does to the store: create, update, patch, delete with Kubernetes semantics
// (generation, resourceVersion conflicts, status subresource, finalizers, owner GC).
import { apiVersionOf, type ResourceRegistry } from "./resources.ts";
import { applyPatchBody } from "./patch.ts";
import { ApiError, resourceId, type KubeObject, type Resource, type Store } from "./store.ts";

/** Called before every create and update; throw ApiError to deny (a validating webhook's place). */
export type AdmissionHook = (
  operation: "CREATE" | "UPDATE",
  resource: Resource,
  object: KubeObject,
  old: KubeObject | undefined,
) => void;

export interface Target {
  resource: Resource;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export interface Handlers {
  create(t: Target, body: KubeObject): KubeObject;
  update(t: Target, body: KubeObject): KubeObject;
  patch(t: Target, contentType: string, body: unknown, fieldManager: string | undefined): KubeObject;
  /** `?dryRun=All`: the object the patch would make, stored nowhere (this server validates nothing). */
  dryRunPatch(t: Target, contentType: string, body: unknown): KubeObject;
  remove(t: Target): KubeObject;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function notFound(t: Target): ApiError {
  return new ApiError(404, "NotFound", `${t.resource.plural} "${t.name ?? ""}" not found`);
}

// eslint-disable-next-line max-lines-per-function -- one closure over the store: the verbs share its helpers
export function makeHandlers(
  store: Store,
  registry: ResourceRegistry,
  admit: AdmissionHook | undefined,
  clock: () => Date,
): Handlers {
  const id = (r: Resource) => resourceId(r);

  const write = (t: Target, next: KubeObject, old: KubeObject): KubeObject => {
    if (t.subresource === "status") {
      next = { ...old, status: next["status"] };
    } else {
      if (t.resource.status) next = { ...next, status: old["status"] };
      const specChanged = !same(next["spec"], old["spec"]);
      next.metadata = {
        ...next.metadata,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        generation: (old.metadata.generation ?? 1) + (specChanged ? 1 : 0),
      };
      if (old.metadata.deletionTimestamp !== undefined)
        next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      admit?.("UPDATE", t.resource, next, old);
    }
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0)
      return finalDelete(t.resource, next);
    return store.put(id(t.resource), next, "MODIFIED");
  };

  const collect = (uid: string): void => {
    for (const r of registry.all()) {
      for (const o of store.list(id(r))) {
        const owners: Array<{ uid?: string }> = o.metadata.ownerReferences ?? [];
        if (owners.some((ref) => ref.uid === uid)) finalDelete(r, o);
      }
    }
  };

  const finalDelete = (resource: Resource, object: KubeObject): KubeObject => {
    const gone = store.put(id(resource), object, "DELETED");
    collect(object.metadata.uid);
    return gone;
  };

  const current = (t: Target): KubeObject => {
    const o = t.name === undefined ? undefined : store.get(id(t.resource), t.namespace, t.name);
    if (o === undefined) throw notFound(t);
    return o;
  };

  return {
    create(t, body) {
      const meta = body.metadata ?? {};
      const name: string | undefined =
        meta.name ??
        (meta.generateName ? `${meta.generateName}${Math.random().toString(36).slice(2, 7)}` : undefined);
      if (!name) throw new ApiError(422, "Invalid", "metadata.name: Required value");
      if (store.get(id(t.resource), t.namespace, name) !== undefined)
        throw new ApiError(409, "AlreadyExists", `${t.resource.plural} "${name}" already exists`);
      const object: KubeObject = {
        ...body,
        apiVersion: apiVersionOf(t.resource),
        kind: t.resource.kind,
        metadata: {
          ...meta,
          name,
          ...(t.namespace === undefined ? {} : { namespace: t.namespace }),
          uid: store.uidFor(t.resource.kind, t.namespace, name),
          creationTimestamp: clock().toISOString(),
          generation: 1,
        },
      };
      // As the API server's NamespaceDefaultLabelName admission does: selectors can match by name.
      if (t.resource.kind === "Namespace")
        object.metadata.labels = { ...object.metadata.labels, "kubernetes.io/metadata.name": name };
      admit?.("CREATE", t.resource, object, undefined);
      if (t.resource.kind === "CustomResourceDefinition") {
        registry.addCrd({ spec: object["spec"] });
        object["status"] = {
          conditions: [
            {
              type: "Established",
              status: "True",
              reason: "InitialNamesAccepted",
              lastTransitionTime: clock().toISOString(),
            },
          ],
          acceptedNames: object["spec"]?.names,
        };
      }
      return store.put(id(t.resource), object, "ADDED");
    },
    update(t, body) {
      const old = current(t);
      const rv = body.metadata?.resourceVersion;
      if (rv !== undefined && rv !== old.metadata.resourceVersion) {
        throw new ApiError(
          409,
          "Conflict",
          `Operation cannot be fulfilled on ${t.resource.plural} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      return write(t, { ...body, apiVersion: old["apiVersion"], kind: old["kind"] }, old);
    },
    patch(t, contentType, body, fieldManager) {
      const old = t.name === undefined ? undefined : store.get(id(t.resource), t.namespace, t.name);
      if (t.subresource === "scale") {
        const replicas = (body as { spec?: { replicas?: number } }).spec?.replicas;
        const target = current(t);
        write({ ...t, subresource: undefined }, { ...target, spec: { ...target["spec"], replicas } }, target);
        return {
          apiVersion: "autoscaling/v1",
          kind: "Scale",
          metadata: { name: t.name, namespace: t.namespace },
          spec: { replicas },
        };
      }
      const patched = applyPatchBody(contentType, old, body);
      if (old === undefined)
        return this.create(t, {
          ...patched,
          metadata: {
            ...patched.metadata,
            managedFields: [{ manager: fieldManager ?? "unknown", operation: "Apply" }],
          },
        });
      const managers = (old.metadata.managedFields ?? []).filter(
        (f: { manager?: string }) => f.manager !== fieldManager,
      );
      const operation = contentType.startsWith("application/apply-patch") ? "Apply" : "Update";
      return write(
        t,
        {
          ...patched,
          metadata: {
            ...patched.metadata,
            managedFields: [...managers, { manager: fieldManager ?? "unknown", operation }],
          },
        },
        old,
      );
    },
    dryRunPatch(t, contentType, body) {
      const old = t.name === undefined ? undefined : store.get(id(t.resource), t.namespace, t.name);
      return applyPatchBody(contentType, old, body);
    },
    remove(t) {
      const old = current(t);
      if ((old.metadata.finalizers ?? []).length > 0) {
        if (old.metadata.deletionTimestamp !== undefined) return old;
        return store.put(
          id(t.resource),
          { ...old, metadata: { ...old.metadata, deletionTimestamp: clock().toISOString() } },
          "MODIFIED",
        );
      }
      return finalDelete(t.resource, old);
    },
  };
}
