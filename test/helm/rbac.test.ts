// The chart's RBAC against the API requests the code makes. Every call of a @kubernetes/client-node
// API method in the operator's and the webhook's source must be in the tables below, and every
// request in the tables must be granted by the chart's rules: a new call without its verb, or a
// verb dropped from the chart, fails here instead of as a 403 on a real cluster.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { render, type Rendered } from "./helm.ts";

interface Request {
  verb: string;
  group: string;
  resource: string;
}
type Calls = Record<string, Request[]>;

const r = (verb: string, group: string, resource: string): Request => ({ verb, group, resource });
const crd = (verb: string, resource: string) => r(verb, "modelchain.io", resource);
const listWatch = (group: string, resource: string) => [
  r("list", group, resource),
  r("watch", group, resource),
];

// What each client method asks of the API server when the operator runs it (informers list, then watch).
const OPERATOR: Calls = {
  listClusterCustomObject: ["modelversions", "modeldeployments", "modeltrustpolicies"].flatMap((p) =>
    listWatch("modelchain.io", p),
  ),
  listNamespace: listWatch("", "namespaces"),
  listPodForAllNamespaces: listWatch("", "pods"),
  listDeploymentForAllNamespaces: listWatch("apps", "deployments"),
  patchNamespacedCustomObjectStatus: [
    crd("patch", "modelversions/status"),
    crd("patch", "modeldeployments/status"),
  ],
  patchClusterCustomObjectStatus: [crd("patch", "modeltrustpolicies/status")],
  // Finalizers of ModelDeployments, a JSON Patch of the object itself.
  patchNamespacedCustomObject: [crd("patch", "modeldeployments")],
  // Server-side apply of the owned Deployment and Service: create when new, patch after.
  "objects.patch": [
    r("create", "apps", "deployments"),
    r("patch", "apps", "deployments"),
    r("create", "", "services"),
    r("patch", "", "services"),
  ],
  listServiceForAllNamespaces: listWatch("", "services"),
  deleteNamespacedService: [r("delete", "", "services")],
  // Ports someone else changed on the owned Service, replaced as a list.
  patchNamespacedService: [r("patch", "", "services")],
  patchNamespacedDeployment: [r("patch", "apps", "deployments")],
  patchNamespacedDeploymentScale: [r("patch", "apps", "deployments/scale")],
  readNamespacedConfigMap: [r("get", "", "configmaps")],
  // OMS bundles in labelled Secrets, read before the verdict.
  readNamespacedSecret: [r("get", "", "secrets")],
  // The webhook served from the operator watches the labelled trust material.
  listConfigMapForAllNamespaces: listWatch("", "configmaps"),
  listSecretForAllNamespaces: listWatch("", "secrets"),
  createNamespacedEvent: [r("create", "", "events")],
  // The webhook served from the operator (the chart's default mode) looks up cache misses.
  getNamespacedCustomObject: [crd("get", "modelversions")],
  readNamespace: [r("get", "", "namespaces")],
};
// In the release namespace only (a Role).
const LEADER_ELECTION: Calls = {
  readNamespacedLease: [r("get", "coordination.k8s.io", "leases")],
  createNamespacedLease: [r("create", "coordination.k8s.io", "leases")],
  replaceNamespacedLease: [r("update", "coordination.k8s.io", "leases")],
};
const WEBHOOK: Calls = {
  listClusterCustomObject: ["modelversions", "modeltrustpolicies"].flatMap((p) =>
    listWatch("modelchain.io", p),
  ),
  listNamespace: listWatch("", "namespaces"),
  getNamespacedCustomObject: [crd("get", "modelversions")],
  readNamespace: [r("get", "", "namespaces")],
  listConfigMapForAllNamespaces: listWatch("", "configmaps"),
  listSecretForAllNamespaces: listWatch("", "secrets"),
};
// Calls of the operator process that the chart's operator never makes: --install-crds (the chart
// installs the CRDs itself) and the start-up version probe (/version is public to every user).
const NOT_UNDER_THE_CHART = new Set(["readCustomResourceDefinition", "getCode", "objects.patch@cluster.ts"]);

const root = join(import.meta.dirname, "..", "..");

/** Every method of every generated API class of the client: what counts as an API call. */
function clientMethods(): Set<string> {
  const names = new Set<string>();
  for (const [name, value] of Object.entries(k8s)) {
    if (!/Api$/.test(name) || typeof value !== "function") continue;
    const proto = (value as { prototype?: object }).prototype;
    if (proto === undefined) continue;
    for (const m of Object.getOwnPropertyNames(proto)) if (m !== "constructor") names.add(m);
  }
  return names;
}

/** The client API methods called in these source files (`objects.patch` is the generic object API). */
function callsIn(files: string[]): Set<string> {
  const methods = clientMethods();
  const found = new Set<string>();
  for (const file of files) {
    const text = readFileSync(join(root, file), "utf8");
    // Receivers are the clients made with makeApiClient (core, custom, apps, ext, this.api, …).
    for (const m of text.matchAll(/(?:\b(?:core|custom|apps|api|ext)|\))\.([A-Za-z]+)\(/g))
      if (m[1] !== undefined && methods.has(m[1]) && /[A-Z]/.test(m[1])) found.add(m[1]);
    if (/\bobjects\.patch\(/.test(text))
      found.add(file.endsWith("cluster.ts") ? "objects.patch@cluster.ts" : "objects.patch");
  }
  return found;
}

const sources = (dir: string) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));

function grants(roles: Rendered, want: Request): boolean {
  return roles.some((role) =>
    (role["rules"] as Array<Record<string, string[]>>).some(
      (rule) =>
        rule["apiGroups"]?.includes(want.group) === true &&
        rule["resources"]?.includes(want.resource) === true &&
        rule["verbs"]?.includes(want.verb) === true,
    ),
  );
}

function ungranted(roles: Rendered, calls: Calls): string[] {
  return Object.entries(calls).flatMap(([call, requests]) =>
    requests
      .filter((q) => !grants(roles, q))
      .map((q) => `${call}: ${q.verb} ${q.group === "" ? "" : q.group + "/"}${q.resource}`),
  );
}

describe("the chart's RBAC covers every API request the code makes", () => {
  const objects = render();
  const named = (kind: string, suffix: string) =>
    objects.filter((o) => o["kind"] === kind && String(o["metadata"]?.["name"]).endsWith(suffix));

  it("the operator's ClusterRole grants every cluster-wide request of the operator (server-side apply included)", () => {
    expect(ungranted(named("ClusterRole", "-operator"), OPERATOR)).toEqual([]);
  });

  it("the leader-election Role grants the Lease requests", () => {
    expect(ungranted(named("Role", "-leader-election"), LEADER_ELECTION)).toEqual([]);
  });

  it("the standalone webhook's ClusterRole grants its lookups", () => {
    const standalone = render({ "webhook.mode": "standalone" }).filter(
      (o) => o["kind"] === "ClusterRole" && String(o["metadata"]?.["name"]).endsWith("-webhook"),
    );
    expect(standalone).toHaveLength(1);
    expect(ungranted(standalone, WEBHOOK)).toEqual([]);
  });

  it("renders no webhook account or role where the operator serves the webhook (the default)", () => {
    const webhookOwn = objects.filter(
      (o) =>
        ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"].includes(String(o["kind"])) &&
        String(o["metadata"]?.["name"]).endsWith("-webhook"),
    );
    expect(webhookOwn).toEqual([]);
  });

  it("lists every client call of the operator's and the webhook's source", () => {
    const operator = callsIn([...sources("src/controller"), "src/webhook/source-kube.ts"]);
    const known = new Set([
      ...Object.keys(OPERATOR),
      ...Object.keys(LEADER_ELECTION),
      ...NOT_UNDER_THE_CHART,
    ]);
    expect([...operator].filter((c) => !known.has(c))).toEqual([]);
    expect(operator.size).toBeGreaterThan(10);
    const webhook = callsIn(["src/webhook/source-kube.ts"]);
    expect([...webhook].filter((c) => !(c in WEBHOOK))).toEqual([]);
  });
});
