import { describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { CHART_CRD_DIR, chartCrdTemplate, chartCrdTemplates } from "../../scripts/chart-crds.ts";
import { registry } from "../../src/metrics/index.ts";
import { icOptions } from "../../src/ledger/open.ts";
import { validatingWebhookConfiguration } from "../../src/webhook/manifest.ts";
import { CHART, helm, parseObjects, render, setArgs, type Rendered } from "./helm.ts";

const byKind = (objects: Rendered, kind: string) => objects.filter((o) => o["kind"] === kind);

describe("the Helm chart, rendered and linted by a real helm", () => {
  const objects = render();

  it("lints clean", () => {
    const lint = helm(["lint", "--strict", CHART]);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("ships every CRD of crds/ as a template behind crds.enabled, kept on uninstall, equal to the generated file", () => {
    const root = join(CHART, "..", "..");
    const files = new Map(
      readdirSync(join(root, "crds")).map((f) => [f, readFileSync(join(root, "crds", f), "utf8")]),
    );
    // Helm installs a chart's crds/ folder once and never upgrades it: the chart must not have one.
    expect(existsSync(join(CHART, "crds"))).toBe(false);
    // The templates are what `make crds` writes from crds/ ...
    const dir = join(root, CHART_CRD_DIR);
    expect(readdirSync(dir).sort()).toEqual([...files.keys()].sort());
    for (const [file, text] of chartCrdTemplates(files))
      expect(readFileSync(join(dir, file), "utf8"), `${file}: run make crds`).toBe(text);
    // ... and what helm renders from them is crds/, object for object.
    const rendered = byKind(objects, "CustomResourceDefinition");
    expect(rendered).toHaveLength(files.size);
    for (const [file, text] of files) {
      const want = parse(text) as Record<string, any>;
      const got = rendered.find((c) => c["metadata"]["name"] === want["metadata"]["name"]);
      expect(got?.["spec"], file).toEqual(want["spec"]);
      expect(got?.["metadata"]["annotations"]).toEqual({ "helm.sh/resource-policy": "keep" });
      expect(got?.["metadata"]["labels"]["app.kubernetes.io/managed-by"]).toBe("Helm");
    }
    expect(byKind(render({ "crds.enabled": "false" }), "CustomResourceDefinition")).toEqual([]);
    for (const crd of byKind(render({ "crds.keep": "false" }), "CustomResourceDefinition"))
      expect(crd["metadata"]["annotations"]).toBeUndefined();
    // What Argo CD, which ignores helm.sh/resource-policy, needs to keep them when an Application goes.
    const argo = { "argocd.argoproj.io/sync-options": "Delete=false" };
    for (const crd of byKind(
      render({ "crds.keep": "false", "crds.annotations": argo }),
      "CustomResourceDefinition",
    ))
      expect(crd["metadata"]["annotations"]).toEqual(argo);
  });

  it("prints a `{{` in a CRD description literally instead of running it", () => {
    const file = "modelversions.yaml";
    const text = readFileSync(join(CHART, "..", "..", "crds", file), "utf8");
    const crd = parse(text) as Record<string, any>;
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "say {{ .Release.Name }} }}";
    const dir = mkdtempSync(join(tmpdir(), "mc-chart-"));
    cpSync(CHART, dir, { recursive: true });
    writeFileSync(join(dir, "templates", "crds", file), chartCrdTemplate(file, stringify(crd)));
    const run = helm(["template", "mc", dir, "--show-only", `templates/crds/${file}`]);
    expect(run.status, run.stderr).toBe(0);
    expect(parse(run.stdout)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"]).toBe(
      "say {{ .Release.Name }} }}",
    );
    expect(() => chartCrdTemplate("x.yaml", "kind: ConfigMap\napiVersion: v1\n")).toThrow(
      /x.yaml: expected a CustomResourceDefinition, got kind ConfigMap/,
    );
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
    expect(webhooks).toHaveLength(4);
    const secret = byKind(objects, "Secret").find((s) => s["type"] === "kubernetes.io/tls");
    const cert = new X509Certificate(Buffer.from(secret?.["data"]["tls.crt"], "base64"));
    for (const [i, w] of webhooks.entries()) {
      expect(w).toMatchObject({
        // The last two only record (deletes, ConfigMaps) and fail open.
        failurePolicy: i < 2 ? "Fail" : "Ignore",
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
    const generated = validatingWebhookConfiguration().webhooks ?? [];
    expect(webhooks.map((w) => [w["name"], w["rules"], w["objectSelector"], w["matchConditions"]])).toEqual(
      generated.map((w) => [w.name, w.rules, w.objectSelector, w.matchConditions]),
    );
  });

  it("gives the operator V8 heap limits (operator.v8) in NODE_OPTIONS, below its memory limit, and the malloc trim threshold", () => {
    const env = (rendered: Rendered) =>
      byKind(rendered, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator")?.["spec"][
        "template"
      ]["spec"]["containers"][0]["env"] as Array<{ name: string; value?: string }>;
    expect(env(objects).find((e) => e.name === "NODE_OPTIONS")?.value).toBe(
      "--max-old-space-size=256 --max-semi-space-size=4",
    );
    expect(env(objects).find((e) => e.name === "MALLOC_TRIM_THRESHOLD_")?.value).toBe("131072");
    expect(
      env(render({ "operator.mallocTrimThresholdBytes": 1048576 })).find(
        (e) => e.name === "MALLOC_TRIM_THRESHOLD_",
      )?.value,
    ).toBe("1048576");
    const raised = render({ "operator.v8.maxOldSpaceMiB": 768, "operator.v8.maxSemiSpaceMiB": 16 });
    expect(env(raised).find((e) => e.name === "NODE_OPTIONS")?.value).toBe(
      "--max-old-space-size=768 --max-semi-space-size=16",
    );
    const operator = byKind(objects, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator");
    const limit = String(
      operator?.["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"],
    );
    expect(limit).toMatch(/^\d+Mi$/);
    // Old space plus three semi-spaces (V8's young generation) fit under the limit with room for the rest.
    expect(Number.parseInt(limit, 10)).toBeGreaterThan(256 + 3 * 8 + 150);
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
    expect(byKind(variant, "Secret")).toEqual([]);
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

  it("has cert-manager issue the serving certificate from a CA of the chart's own, so renewals keep the injected caBundle, or from the issuer named", () => {
    const variant = render({ "certManager.enabled": "true" });
    const named = (kind: string) =>
      Object.fromEntries(byKind(variant, kind).map((o) => [o["metadata"]["name"], o["spec"]]));
    expect(named("Issuer")).toEqual({
      "mc-selfsigned": { selfSigned: {} },
      "mc-webhook-ca": { ca: { secretName: "mc-webhook-ca" } },
    });
    const certificates = named("Certificate");
    expect(certificates["mc-webhook-ca"]).toMatchObject({
      isCA: true,
      secretName: "mc-webhook-ca",
      issuerRef: { name: "mc-selfsigned", kind: "Issuer" },
    });
    expect(certificates["mc-webhook"]).toMatchObject({
      secretName: "mc-webhook-tls",
      issuerRef: { name: "mc-webhook-ca", kind: "Issuer", group: "cert-manager.io" },
    });
    expect(certificates["mc-webhook"]["dnsNames"]).toContain("mc-webhook.modelchain-system.svc");
    // cainjector reads the CA from the serving Certificate named in the annotation: it must exist.
    const [config] = byKind(variant, "ValidatingWebhookConfiguration");
    const [ns, name] = String(config?.["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]).split(
      "/",
    );
    expect([ns, certificates[name ?? ""]?.["secretName"]]).toEqual(["modelchain-system", "mc-webhook-tls"]);
    const corp = render({
      "certManager.enabled": "true",
      "certManager.issuerRef": { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
    });
    expect(byKind(corp, "Issuer")).toEqual([]);
    expect(byKind(corp, "Certificate").map((c) => c["spec"]["issuerRef"])).toEqual([
      { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" },
    ]);
  });

  it("serves with a Secret you manage (webhook.tls.existingSecret) and its caBundle: no Secret rendered, the same bytes on every render", () => {
    const caBundle = byKind(objects, "Secret").find((x) => x["type"] === "kubernetes.io/tls")?.["data"][
      "ca.crt"
    ];
    const sets = { "webhook.tls.existingSecret": "corp-webhook-tls", "webhook.tls.caBundle": caBundle };
    const run = () => helm(["template", "mc", CHART, "-n", "modelchain-system", ...setArgs(sets)]).stdout;
    const first = run();
    // What a renderer without cluster access (helm template, Argo CD) compares: nothing generated.
    expect(run()).toBe(first);
    const variant = parseObjects(first);
    expect(byKind(variant, "Secret")).toEqual([]);
    const webhooks: Array<Record<string, any>> = byKind(variant, "ValidatingWebhookConfiguration")[0]?.[
      "webhooks"
    ];
    expect(webhooks.map((w) => w["clientConfig"]["caBundle"])).toEqual(webhooks.map(() => caBundle));
    const pod = byKind(variant, "Deployment")[0]?.["spec"]["template"]["spec"];
    expect(pod["volumes"]).toContainEqual({ name: "tls", secret: { secretName: "corp-webhook-tls" } });
    const noCa = helm(["template", "mc", CHART, "--set", "webhook.tls.existingSecret=corp-webhook-tls"]);
    expect(noCa.status).not.toBe(0);
    expect(noCa.stderr).toContain("/webhook/tls/caBundle");
  });

  it("publishes file-ledger checkpoints on a schedule, mirrors them to one ConfigMap it alone may patch, and anchors them when asked", () => {
    const args = (o: Rendered) =>
      byKind(o, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator")?.["spec"]["template"][
        "spec"
      ]["containers"][0]["args"] as string[];
    expect(args(objects)).toEqual(
      expect.arrayContaining([
        "--checkpoint-every-entries=1000",
        "--checkpoint-every-seconds=60",
        "--checkpoint-configmap=modelchain-system/mc-checkpoint",
      ]),
    );
    expect(args(objects).some((a) => a.startsWith("--anchor"))).toBe(false);
    const role = byKind(objects, "Role").find((r) => r["metadata"]["name"] === "mc-checkpoint");
    expect(role?.["rules"]).toEqual([
      { apiGroups: [""], resources: ["configmaps"], resourceNames: ["mc-checkpoint"], verbs: ["patch"] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
    ]);
    const binding = byKind(objects, "RoleBinding").find((r) => r["metadata"]["name"] === "mc-checkpoint");
    expect(binding?.["subjects"]).toEqual([
      { kind: "ServiceAccount", name: "mc-operator", namespace: "modelchain-system" },
    ]);
    const anchored = render({
      "ledger.checkpoints.everySeconds": "30",
      "ledger.checkpoints.configMap": "false",
      "ledger.checkpoints.anchor.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
      "ledger.checkpoints.anchor.identitySecret": "mc-anchor",
    });
    const anchor =
      args(anchored)
        .find((a) => a.startsWith("--anchor="))
        ?.slice("--anchor=".length) ?? "";
    expect(args(anchored)).toContain("--checkpoint-every-seconds=30");
    expect(args(anchored).some((a) => a.startsWith("--checkpoint-configmap"))).toBe(false);
    expect(byKind(anchored, "Role").some((r) => r["metadata"]["name"] === "mc-checkpoint")).toBe(false);
    expect(anchor).toBe(
      "ic://uxrrr-q7777-77774-qaaaq-cai?host=https://icp-api.io&identity=/var/run/modelchain/anchor-identity/identity.pem&outbox=/var/lib/modelchain/anchor-outbox",
    );
    // The URL the chart builds is one the operator accepts (the PEM stands in for the mounted file).
    const identityPem = generateKeyPairSync("ed25519")
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expect(() =>
      icOptions(anchor, "uxrrr-q7777-77774-qaaaq-cai", new URL(anchor).searchParams, { identityPem }),
    ).not.toThrow();
    const pod = byKind(anchored, "Deployment").find((d) => d["metadata"]["name"] === "mc-operator")?.["spec"][
      "template"
    ]["spec"];
    expect(pod["volumes"]).toContainEqual({ name: "anchor-identity", secret: { secretName: "mc-anchor" } });
    const ic = render({
      "ledger.backend": "ic",
      "ledger.ic.canisterId": "uxrrr-q7777-77774-qaaaq-cai",
      "ledger.ic.identitySecret": "mc-ic-identity",
    });
    expect(args(ic).some((a) => a.startsWith("--checkpoint"))).toBe(false);
    expect(byKind(ic, "Role").some((r) => r["metadata"]["name"] === "mc-checkpoint")).toBe(false);
    const noSecret = helm(["template", "mc", CHART, "--set", "ledger.checkpoints.anchor.canisterId=x"]);
    expect(noSecret.stderr).toMatch(/ledger.checkpoints.anchor.identitySecret is required/);
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
