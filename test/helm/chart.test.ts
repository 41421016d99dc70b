import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { registry } from "../../src/metrics/index.ts";
import { icOptions } from "../../src/ledger/open.ts";
import { CHART, helm, render, type Rendered } from "./helm.ts";

const byKind = (objects: Rendered, kind: string) => objects.filter((o) => o["kind"] === kind);

describe("the Helm chart, rendered and linted by a real helm", () => {
  const objects = render();

  it("lints clean", () => {
    const lint = helm(["lint", "--strict", CHART]);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("ships exactly the CRDs in crds/", () => {
    const root = join(CHART, "..", "..");
    for (const file of readdirSync(join(root, "crds"))) {
      expect(readFileSync(join(CHART, "crds", file), "utf8"), file).toBe(
        readFileSync(join(root, "crds", file), "utf8"),
      );
    }
    expect(readdirSync(join(CHART, "crds")).sort()).toEqual(readdirSync(join(root, "crds")).sort());
  });

  it("grants least privilege: no wildcard verb, resource or group", () => {
    const rules = [...byKind(objects, "ClusterRole"), ...byKind(objects, "Role")].flatMap(
      (r) => r["rules"] as Array<Record<string, string[]>>,
    );
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules)
      for (const field of ["verbs", "resources", "apiGroups"])
        expect(rule[field], JSON.stringify(rule)).not.toContain("*");
    const leases = rules.find((r) => r["resources"]?.includes("leases"));
    expect(leases?.["verbs"]).toEqual(["get", "create", "update"]);
  });

  it("configures the webhook to fail closed within 5 s outside kube-system and its own namespace, trusting the CA that signed its serving certificate", () => {
    const [config] = byKind(objects, "ValidatingWebhookConfiguration");
    const webhooks = config?.["webhooks"] as Array<Record<string, any>>;
    expect(webhooks).toHaveLength(2);
    const secret = byKind(objects, "Secret").find((s) => s["type"] === "kubernetes.io/tls");
    const cert = new X509Certificate(Buffer.from(secret?.["data"]["tls.crt"], "base64"));
    for (const w of webhooks) {
      expect(w).toMatchObject({
        failurePolicy: "Fail",
        timeoutSeconds: 5,
        sideEffects: "NoneOnDryRun",
        admissionReviewVersions: ["v1"],
      });
      expect(w["namespaceSelector"]["matchExpressions"][0]).toEqual({
        key: "kubernetes.io/metadata.name",
        operator: "NotIn",
        values: ["kube-system", "modelchain-system"],
      });
      const ca = new X509Certificate(Buffer.from(w["clientConfig"]["caBundle"], "base64"));
      expect(cert.verify(ca.publicKey)).toBe(true);
    }
    expect(cert.subjectAltName).toContain("DNS:mc-webhook.modelchain-system.svc");
    expect(webhooks[1]?.["objectSelector"]).toEqual({
      matchExpressions: [{ key: "modelchain.io/model-version", operator: "Exists" }],
    });
  });

  it("runs both Deployments non-root on a read-only root filesystem with probes", () => {
    for (const d of byKind(objects, "Deployment")) {
      const pod = d["spec"]["template"]["spec"];
      expect(pod["securityContext"]).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      const c = pod["containers"][0];
      expect(c["securityContext"]).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(c["livenessProbe"]).toBeDefined();
      expect(c["readinessProbe"]).toBeDefined();
      expect(c["resources"]["requests"]).toBeDefined();
    }
    const operator = byKind(objects, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator");
    expect(operator?.["spec"]["template"]["spec"]["containers"][0]["args"]).toEqual(
      expect.arrayContaining(["operator", "--leader-elect", "--ledger=/var/lib/modelchain/ledger"]),
    );
    expect(byKind(objects, "PersistentVolumeClaim")[0]?.["metadata"]["annotations"]).toEqual({
      "helm.sh/resource-policy": "keep",
    });
  });

  it("serves the webhook from the operator by default, so denials are recorded, or standalone when asked", () => {
    const operator = byKind(objects, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator");
    expect(byKind(objects, "Deployment")).toHaveLength(1);
    expect(operator?.["spec"]["template"]["spec"]["containers"][0]["args"]).toEqual(
      expect.arrayContaining([
        "--webhook-port=9443",
        "--tls-cert=/var/run/modelchain/tls/tls.crt",
        "--state-dir=/var/lib/modelchain",
        "--webhook-tls-handshake-timeout-ms=5000",
        "--webhook-in-flight-body-bytes=33554432",
      ]),
    );
    const service = byKind(objects, "Service").find((x) => x["metadata"]["name"] === "mc-webhook");
    expect(service?.["spec"]["selector"]["app.kubernetes.io/component"]).toBe("operator");
    const standalone = render({ "webhook.mode": "standalone" });
    expect(
      byKind(standalone, "Deployment")
        .map((d) => d["metadata"]["name"])
        .sort(),
    ).toEqual(["mc-operator", "mc-webhook"]);
    const standaloneArgs = byKind(standalone, "Deployment").find(
      (d) => d["metadata"]["name"] === "mc-webhook",
    )?.["spec"]["template"]["spec"]["containers"][0]["args"];
    expect(standaloneArgs).toEqual(
      expect.arrayContaining(["--tls-handshake-timeout-ms=5000", "--in-flight-body-bytes=33554432"]),
    );
    expect(
      byKind(standalone, "Service").find((x) => x["metadata"]["name"] === "mc-webhook")?.["spec"]["selector"][
        "app.kubernetes.io/component"
      ],
    ).toBe("webhook");
  });

  it("switches to cert-manager, the ic ledger, Ignore, and a ServiceMonitor when asked", () => {
    const variant = render({
      "certManager.enabled": "true",
      "ledger.backend": "ic",
      "ledger.ic.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
      "ledger.ic.identitySecret": "mc-ic-identity",
      "webhook.failurePolicy": "Ignore",
      "metrics.serviceMonitor.enabled": "true",
    });
    expect(byKind(variant, "Certificate")).toHaveLength(1);
    const config = byKind(variant, "ValidatingWebhookConfiguration")[0];
    expect(config?.["metadata"]["annotations"]).toEqual({
      "cert-manager.io/inject-ca-from": "modelchain-system/mc-webhook",
    });
    expect(
      (config?.["webhooks"] as Array<Record<string, any>>).every(
        (w) => w["failurePolicy"] === "Ignore" && w["clientConfig"]["caBundle"] === undefined,
      ),
    ).toBe(true);
    expect(byKind(variant, "ServiceMonitor")).toHaveLength(1);
    expect(byKind(variant, "PersistentVolumeClaim")).toHaveLength(0);
    const args = byKind(variant, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator")?.["spec"][
      "template"
    ]["spec"]["containers"][0]["args"];
    expect(args).toContain(
      "--ledger=ic://uxrrr-q7777-77774-qaaaq-cai?host=https://icp-api.io&outbox=/var/lib/modelchain/outbox",
    );
    const pod = byKind(variant, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator")?.["spec"][
      "template"
    ]["spec"];
    expect(pod["volumes"]).toContainEqual({ name: "outbox", emptyDir: {} });
    expect(pod["containers"][0]["volumeMounts"]).toContainEqual({
      name: "outbox",
      mountPath: "/var/lib/modelchain/outbox",
    });
    // The URL the chart builds is one the operator accepts.
    expect(() =>
      icOptions(
        args.find((a: string) => a.startsWith("--ledger=")).slice(9),
        "uxrrr-q7777-77774-qaaaq-cai",
        new URL(args.find((a: string) => a.startsWith("--ledger=")).slice(9)).searchParams,
        {},
      ),
    ).not.toThrow();
  });

  it("refuses values the schema forbids, naming them", () => {
    const bad = helm(["template", "mc", CHART, "--set", "ledger.backend=ic"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/canisterId|identitySecret/);
    const typo = helm(["template", "mc", CHART, "--set", "webhook.failurePolicy=Block"]);
    expect(typo.stderr).toMatch(/failurePolicy/);
  });

  it("ships alerts (off by default) on a reconcile storm, webhook errors and latency, drift and revoked models in use, over exported metrics only", async () => {
    expect(byKind(objects, "PrometheusRule")).toHaveLength(0);
    const variant = render({
      "metrics.prometheusRule.enabled": "true",
      "metrics.prometheusRule.labels.release": "kube-prometheus",
      "metrics.prometheusRule.reconcileStormPerSecond": "7",
      "webhook.timeoutSeconds": "8",
    });
    const [rule] = byKind(variant, "PrometheusRule");
    expect(rule?.["metadata"]["labels"]["release"]).toBe("kube-prometheus");
    const rules = (
      rule?.["spec"]["groups"] as Array<{ rules: Array<{ alert: string; expr: string }> }>
    ).flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      "ModelchainDeploymentDrifted",
      "ModelchainReconcileStorm",
      "ModelchainRevokedModelInUse",
      "ModelchainWebhookErrors",
      "ModelchainWebhookSlow",
    ]);
    const expr = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? "";
    expect(expr("ModelchainReconcileStorm")).toMatch(/> 7$/);
    expect(expr("ModelchainWebhookSlow")).toMatch(/> 4$/);
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    for (const r of rules)
      for (const name of r.expr.match(/modelchain_[a-z_]+/g) ?? [])
        expect(exported, `${r.alert}: ${name}`).toContain(name.replace(/_(bucket|count|sum)$/, ""));
  });

  it("ships a Grafana dashboard whose queries use only metrics modelchain exports", async () => {
    const dashboard = byKind(objects, "ConfigMap").find(
      (c) => c["metadata"]["labels"]?.["grafana_dashboard"] === "1",
    );
    const json = JSON.parse(dashboard?.["data"]["modelchain.json"]) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const titles = json.panels.map((p) => p.title).join(" | ");
    for (const needed of [
      "Verified vs unverified",
      "Admissions by decision and reason",
      "Ledger size",
      "append latency",
      "Drifted",
      "revoked",
      "Reconciles by controller and result",
    ])
      expect(titles).toContain(needed);
    for (const panel of json.panels) {
      for (const target of panel.targets) {
        const names = target.expr.match(/modelchain_[a-z_]+/g) ?? [];
        expect(names.length, panel.title).toBeGreaterThan(0);
        for (const name of names)
          expect(exported, `${panel.title}: ${name}`).toContain(name.replace(/_(bucket|count|sum)$/, ""));
      }
    }
  });
});
