// The chart's workloads as a real helm renders them: names, the selectors that tie Services,
// PodDisruptionBudgets, NetworkPolicies and the ServiceMonitor to the Pods they mean, where the
// Pods may run, and NOTES.txt naming only objects the chosen mode renders.
import { describe, expect, it } from "vitest";
import { CHART, helm, parseObjects, render, setArgs, type Rendered } from "./helm.ts";

const byKind = (objects: Rendered, kind: string) => objects.filter((o) => o["kind"] === kind);
const named = (objects: Rendered, kind: string, name: string) =>
  objects.find((o) => o["kind"] === kind && o["metadata"]["name"] === name);
const podLabels = (d: Record<string, any>): Record<string, string> =>
  d["spec"]["template"]["metadata"]["labels"];
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);
/** The Deployments whose Pods a label selector picks. */
const selected = (objects: Rendered, selector: Record<string, string>) =>
  byKind(objects, "Deployment")
    .filter((d) => matches(selector, podLabels(d)))
    .map((d) => d["metadata"]["name"] as string);
const containerPorts = (d: Record<string, any>): string[] =>
  d["spec"]["template"]["spec"]["containers"][0]["ports"].map((p: { name: string }) => p.name);

const STANDALONE = { "webhook.mode": "standalone" };

describe("the chart's workloads, rendered by a real helm", () => {
  it("names every object after fullnameOverride and labels it with nameOverride, selectors included", () => {
    const objects = render({ ...STANDALONE, fullnameOverride: "audit", nameOverride: "ledger" });
    const namespaced = objects.filter(
      (o) => !["CustomResourceDefinition", "ValidatingWebhookConfiguration"].includes(o["kind"]),
    );
    for (const o of namespaced) expect(o["metadata"]["name"], o["kind"]).toMatch(/^audit-/);
    expect(named(objects, "ValidatingWebhookConfiguration", "audit")).toBeDefined();
    for (const o of objects)
      expect(o["metadata"]["labels"]["app.kubernetes.io/name"], `${o["kind"]} ${o["metadata"]["name"]}`).toBe(
        "ledger",
      );
    for (const d of byKind(objects, "Deployment")) {
      expect(d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]).toBe("ledger");
      expect(podLabels(d)["app.kubernetes.io/name"]).toBe("ledger");
    }
    const pod = named(objects, "Deployment", "audit-operator")?.["spec"]["template"]["spec"];
    expect(pod["serviceAccountName"]).toBe("audit-operator");
    expect(pod["volumes"]).toContainEqual({
      name: "ledger",
      persistentVolumeClaim: { claimName: "audit-ledger" },
    });
    expect(
      named(objects, "Deployment", "audit-webhook")?.["spec"]["template"]["spec"]["volumes"],
    ).toContainEqual({
      name: "tls",
      secret: { secretName: "audit-webhook-tls" },
    });
    expect(named(objects, "Secret", "audit-webhook-tls")).toBeDefined();
    const cert = render({ fullnameOverride: "audit", "certManager.enabled": "true" });
    expect(named(cert, "ValidatingWebhookConfiguration", "audit")?.["metadata"]["annotations"]).toEqual({
      "cert-manager.io/inject-ca-from": "modelchain-system/audit-webhook",
    });
  });

  it.each([
    ["inOperator", {}],
    ["standalone", STANDALONE],
  ])(
    "ties each Deployment's selector to its own Pods and each Service to the Pods it means (%s)",
    (_, sets) => {
      const objects = render(sets);
      for (const d of byKind(objects, "Deployment")) {
        expect(matches(d["spec"]["selector"]["matchLabels"], podLabels(d))).toBe(true);
        expect(selected(objects, d["spec"]["selector"]["matchLabels"])).toEqual([d["metadata"]["name"]]);
      }
      const webhookServedBy = "webhook.mode" in sets ? "mc-webhook" : "mc-operator";
      const service = (name: string) => named(objects, "Service", name)?.["spec"];
      expect(selected(objects, service("mc-webhook")["selector"])).toEqual([webhookServedBy]);
      expect(selected(objects, service("mc-metrics")["selector"])).toEqual(["mc-operator"]);
      for (const svc of byKind(objects, "Service")) {
        const [target] = selected(objects, svc["spec"]["selector"]);
        for (const port of svc["spec"]["ports"])
          expect(
            containerPorts(named(objects, "Deployment", target ?? "") ?? {}),
            svc["metadata"]["name"],
          ).toContain(port.targetPort);
      }
    },
  );

  it("has the ServiceMonitor scrape the metrics port of the operator and of the standalone webhook", () => {
    for (const [sets, scraped] of [
      [{}, ["mc-operator"]],
      [STANDALONE, ["mc-operator", "mc-webhook"]],
    ] as const) {
      const objects = render({ ...sets, "metrics.serviceMonitor.enabled": "true" });
      const [monitor] = byKind(objects, "ServiceMonitor");
      expect(monitor?.["spec"]["namespaceSelector"]).toEqual({ matchNames: ["modelchain-system"] });
      const services = byKind(objects, "Service").filter((s) =>
        matches(monitor?.["spec"]["selector"]["matchLabels"], s["metadata"]["labels"]),
      );
      const port = monitor?.["spec"]["endpoints"][0]["port"];
      // The Pods behind each selected Service, through a Service port of the endpoint's name.
      const targets = services.flatMap((s) =>
        s["spec"]["ports"].some((p: { name: string }) => p.name === port)
          ? selected(objects, s["spec"]["selector"])
          : [],
      );
      expect(targets.sort()).toEqual([...scraped]);
      for (const name of scraped)
        expect(containerPorts(named(objects, "Deployment", name) ?? {})).toContain("metrics");
    }
    const webhook = named(render(STANDALONE), "Deployment", "mc-webhook");
    expect(webhook?.["spec"]["template"]["spec"]["containers"][0]["args"]).toContain("--metrics-port=8080");
    const labelled = render({
      "metrics.serviceMonitor.enabled": "true",
      "metrics.serviceMonitor.labels.release": "kps",
    });
    expect(byKind(labelled, "ServiceMonitor")[0]?.["metadata"]["labels"]["release"]).toBe("kps");
  });

  it("places each workload where its values say: nodeSelector, tolerations, affinity, priorityClassName, podAnnotations, imagePullSecrets, extraArgs", () => {
    const affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: {} } },
        ],
      },
    };
    const objects = render({
      ...STANDALONE,
      imagePullSecrets: ["registry"],
      "operator.nodeSelector": { pool: "system" },
      "operator.tolerations": [
        { key: "dedicated", operator: "Equal", value: "system", effect: "NoSchedule" },
      ],
      "operator.priorityClassName": "platform",
      "operator.podAnnotations": { "example.com/team": "ml-platform" },
      "operator.extraArgs": ["--workers=9"],
      "webhook.affinity": affinity,
      "webhook.priorityClassName": "system-cluster-critical",
      "webhook.imagePullSecrets": ["mirror"],
      "webhook.extraArgs": ["--host=0.0.0.0"],
    });
    const pod = (name: string) => named(objects, "Deployment", name)?.["spec"]["template"];
    const operator = pod("mc-operator");
    expect(operator["spec"]).toMatchObject({
      nodeSelector: { pool: "system" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "system", effect: "NoSchedule" }],
      priorityClassName: "platform",
      imagePullSecrets: [{ name: "registry" }],
    });
    expect(operator["spec"]["affinity"]).toBeUndefined();
    expect(operator["metadata"]["annotations"]).toEqual({ "example.com/team": "ml-platform" });
    expect(operator["spec"]["containers"][0]["args"].at(-1)).toBe("--workers=9");
    const webhook = pod("mc-webhook");
    expect(webhook["spec"]).toMatchObject({
      affinity,
      priorityClassName: "system-cluster-critical",
      imagePullSecrets: [{ name: "registry" }, { name: "mirror" }],
    });
    expect(webhook["spec"]["nodeSelector"]).toBeUndefined();
    expect(webhook["metadata"]["annotations"]).toBeUndefined();
    expect(webhook["spec"]["containers"][0]["args"].at(-1)).toBe("--host=0.0.0.0");
    // Nothing set: no empty keys in the Pod spec.
    const plain = named(render(), "Deployment", "mc-operator")?.["spec"]["template"]["spec"];
    for (const key of ["nodeSelector", "tolerations", "affinity", "priorityClassName", "imagePullSecrets"])
      expect(plain[key], key).toBeUndefined();
  });

  it("keeps a PodDisruptionBudget on the Pods that serve the webhook only while they are more than one", () => {
    const pdbs = (sets: Record<string, unknown>) => byKind(render(sets), "PodDisruptionBudget");
    const [standalone] = pdbs(STANDALONE);
    expect(standalone?.["spec"]).toEqual({
      minAvailable: 1,
      selector: {
        matchLabels: named(render(STANDALONE), "Deployment", "mc-webhook")?.["spec"]["selector"][
          "matchLabels"
        ],
      },
    });
    expect(pdbs({ ...STANDALONE, "webhook.replicas": 1 })).toEqual([]);
    expect(pdbs({ ...STANDALONE, "webhook.podDisruptionBudget.enabled": "false" })).toEqual([]);
    // The default mode: the operator's Pods serve it, one with the file ledger, several with ic.
    expect(pdbs({})).toEqual([]);
    const ic = {
      "ledger.backend": "ic",
      "ledger.ic.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
      "ledger.ic.identitySecret": "mc-ic-identity",
      "operator.replicas": 3,
      "webhook.podDisruptionBudget.minAvailable": "50%",
    };
    const objects = render(ic);
    const [pdb] = byKind(objects, "PodDisruptionBudget");
    expect(pdb?.["spec"]["minAvailable"]).toBe("50%");
    expect(selected(objects, pdb?.["spec"]["selector"]["matchLabels"])).toEqual(["mc-operator"]);
  });

  it("renders NetworkPolicies only when asked, admitting the webhook and metrics ports of each workload", () => {
    expect(byKind(render(STANDALONE), "NetworkPolicy")).toEqual([]);
    const metricsFrom = [
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ];
    const egress = [{ ports: [{ protocol: "UDP", port: 53 }] }];
    const policies = (sets: Record<string, unknown>) => {
      const objects = render({ "networkPolicy.enabled": "true", ...sets });
      return Object.fromEntries(
        byKind(objects, "NetworkPolicy").map((p) => [
          selected(objects, p["spec"]["podSelector"]["matchLabels"])[0],
          p["spec"],
        ]),
      );
    };
    const inOperator = policies({ "networkPolicy.metricsFrom": metricsFrom });
    expect(Object.keys(inOperator)).toEqual(["mc-operator"]);
    expect(inOperator["mc-operator"]).toMatchObject({
      policyTypes: ["Ingress"],
      ingress: [
        { ports: [{ protocol: "TCP", port: 9443 }] },
        { ports: [{ protocol: "TCP", port: 8080 }], from: metricsFrom },
      ],
    });
    expect(inOperator["mc-operator"]["ingress"][0]["from"]).toBeUndefined();
    const standalone = policies({ ...STANDALONE, "networkPolicy.egress": egress });
    expect(Object.keys(standalone).sort()).toEqual(["mc-operator", "mc-webhook"]);
    expect(standalone["mc-operator"]["ingress"]).toEqual([{ ports: [{ protocol: "TCP", port: 8080 }] }]);
    expect(standalone["mc-webhook"]).toMatchObject({ policyTypes: ["Ingress", "Egress"], egress });
    expect(standalone["mc-webhook"]["ingress"].map((r: any) => r.ports[0].port)).toEqual([9443, 8080]);
  });
});

/** `helm install --dry-run=client`: the rendered objects and NOTES.txt as a user sees them. */
function dryRunInstall(sets: Record<string, unknown>): { objects: Rendered; notes: string } {
  const run = helm(["install", "mc", CHART, "--dry-run=client", "-n", "modelchain-system", ...setArgs(sets)]);
  if (run.status !== 0) throw new Error(`helm install --dry-run failed: ${run.stderr}`);
  const [, manifest = "", notes = ""] = /MANIFEST:\n([\s\S]*?)\nNOTES:\n([\s\S]*)$/.exec(run.stdout) ?? [];
  return { objects: parseObjects(manifest), notes };
}

const KINDS: Record<string, string> = {
  deploy: "Deployment",
  pvc: "PersistentVolumeClaim",
  secret: "Secret",
  certificate: "Certificate",
  servicemonitor: "ServiceMonitor",
};

describe("NOTES.txt", () => {
  it.each([
    ["the defaults", {}],
    [
      "standalone, cert-manager and a ServiceMonitor",
      { ...STANDALONE, "certManager.enabled": "true", "metrics.serviceMonitor.enabled": "true" },
    ],
    ["no webhook, no CRDs", { "webhook.enabled": "false", "crds.enabled": "false" }],
    [
      "the ic ledger, a Secret you manage",
      {
        "ledger.backend": "ic",
        "ledger.ic.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
        "ledger.ic.identitySecret": "mc-ic-identity",
        "webhook.tls.existingSecret": "corp-tls",
        "webhook.tls.caBundle": "Zm9v",
      },
    ],
  ])("names only objects the release renders (%s)", (_, sets) => {
    const { objects, notes } = dryRunInstall(sets);
    const refs = [...notes.matchAll(/\b(deploy|pvc|secret|certificate|servicemonitor)\/([a-z0-9-]+)/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [ref, kind = "", name = ""] of refs)
      expect(named(objects, KINDS[kind] ?? kind, name), `${ref} in NOTES.txt`).toBeDefined();
    for (const crd of /kubectl get crd (.*)/.exec(notes)?.[1]?.split(" ") ?? [])
      expect(named(objects, "CustomResourceDefinition", crd), crd).toBeDefined();
    if (byKind(objects, "ValidatingWebhookConfiguration").length === 0)
      expect(notes).not.toContain("denied by the webhook");
  });
});
