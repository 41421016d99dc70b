import { resourceId, type Resource } from "./store.ts";

/** The built-in resources the development server serves; CRDs add more at run time. */
export const BUILTIN: Resource[] = [
  { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false, status: true },
  { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true, status: true },
  { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true, status: false },
  { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true, status: false },
  { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true, status: true },
  { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true, status: false },
  { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true, status: true },
  { group: "apps", version: "v1", plural: "replicasets", kind: "ReplicaSet", namespaced: true, status: true },
  {
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
    status: false,
  },
  { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true, status: false },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
    status: true,
  },
];

export class ResourceRegistry {
  private readonly byId = new Map<string, Resource>();

  constructor(resources: Resource[] = BUILTIN) {
    for (const r of resources) this.add(r);
  }

  add(resource: Resource): void {
    this.byId.set(resourceId(resource), resource);
  }

  find(group: string, version: string, plural: string): Resource | undefined {
    return this.byId.get(resourceId({ group, version, plural }));
  }

  all(): Resource[] {
    return [...this.byId.values()];
  }

  /** Registers the served version of a CustomResourceDefinition (its object as posted). */
  addCrd(crd: {
    spec?: {
      group?: string;
      scope?: string;
      names?: { plural?: string; kind?: string };
      versions?: Array<{ name?: string; served?: boolean; subresources?: { status?: unknown } }>;
    };
  }): void {
    const spec = crd.spec ?? {};
    for (const v of spec.versions ?? []) {
      if (v.served === false || !spec.group || !v.name || !spec.names?.plural || !spec.names.kind) continue;
      this.add({
        group: spec.group,
        version: v.name,
        plural: spec.names.plural,
        kind: spec.names.kind,
        namespaced: spec.scope !== "Cluster",
        status: v.subresources?.status !== undefined,
      });
    }
  }
}

export function apiVersionOf(r: Resource): string {
  return r.group === "" ? r.version : `${r.group}/${r.version}`;
}
