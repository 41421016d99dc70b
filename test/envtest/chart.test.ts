// The chart installed, upgraded and uninstalled by a real helm in a real kube-apiserver: the
// CRDs are release objects that helm upgrade upgrades and helm uninstall leaves, the webhook's CA
// is generated once and then read back (lookup), so renders and upgrades do not rotate it, and
// the optional objects (PodDisruptionBudget, NetworkPolicies) pass the API server's validation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PolicyV1Api,
  VersionApi,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { parse } from "yaml";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { pinnedKubernetesVersion, skipWithoutAssets } from "./assets.ts";
import { CHART, helm, parseObjects, type Rendered } from "../helm/helm.ts";

const skip = skipWithoutAssets("the chart against kube-apiserver");
const NS = "modelchain-system";
const ROOT = join(import.meta.dirname, "..", "..");
const CRDS = readdirSync(join(ROOT, "crds")).map(
  (f) =>
    (parse(readFileSync(join(ROOT, "crds", f), "utf8")) as V1CustomResourceDefinition).metadata?.name ?? f,
);

/** The chart as 0.1.0 shipped it: the CRDs in crds/, which Helm installs once and never upgrades. */
function chartWithCrdsFolder(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "mc-chart-0.1-")), "modelchain");
  cpSync(CHART, dir, { recursive: true });
  rmSync(join(dir, "templates", "crds"), { recursive: true });
  mkdirSync(join(dir, "crds"));
  for (const f of readdirSync(join(ROOT, "crds"))) cpSync(join(ROOT, "crds", f), join(dir, "crds", f));
  return dir;
}

/** The chart with one more short name on ModelTrustPolicy: a CRD change an upgrade must apply. */
function chartWithChangedCrd(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "mc-chart-next-")), "modelchain");
  cpSync(CHART, dir, { recursive: true });
  const file = join(dir, "templates", "crds", "modeltrustpolicies.yaml");
  const text = readFileSync(file, "utf8");
  expect(text).toContain("    shortNames:\n      - mtp\n");
  writeFileSync(
    file,
    text.replace("    shortNames:\n      - mtp\n", "    shortNames:\n      - mtp\n      - mtpnext\n"),
  );
  return dir;
}

describe.skipIf(skip)("the Helm chart against a real kube-apiserver", () => {
  let cp: ControlPlane;
  const run = (args: string[]) => {
    const r = helm([...args, "--kubeconfig", cp.kubeconfigPath]);
    return { ...r, output: r.stdout + r.stderr };
  };
  const ok = (args: string[]) => {
    const r = run(args);
    expect(r.status, `helm ${args.join(" ")}: ${r.output}`).toBe(0);
    return r.stdout;
  };
  const crd = (name: string) =>
    cp.kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
  /** What the cluster holds of the webhook's TLS: the Secret's data and every caBundle. */
  const liveTls = async () => {
    const secret = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: "mc-webhook-tls", namespace: NS });
    const config = await cp.kubeConfig
      .makeApiClient(AdmissionregistrationV1Api)
      .readValidatingWebhookConfiguration({ name: "mc" });
    return {
      data: secret.data ?? {},
      caBundles: (config.webhooks ?? []).map((w) => w.clientConfig.caBundle),
    };
  };
  const tlsOf = (objects: Rendered) => ({
    data: objects.find((o) => o["kind"] === "Secret" && o["metadata"]["name"] === "mc-webhook-tls")?.["data"],
    caBundles: objects
      .find((o) => o["kind"] === "ValidatingWebhookConfiguration")
      ?.["webhooks"].map((w: any) => w["clientConfig"]["caBundle"]),
  });
  let installed: Awaited<ReturnType<typeof liveTls>>;

  beforeAll(async () => {
    cp = await startControlPlane({ crds: false });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it("the control plane reports its release version, not an unstamped module build", async () => {
    const info = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(`v${pinnedKubernetesVersion()}`);
  });

  it("installs with --dry-run=server: the kubeVersion check and every object pass the API server", () => {
    const out = ok(["install", "mc", CHART, "--dry-run=server", "--namespace", "default"]);
    expect(out).toMatch(/STATUS: pending-install/);
  }, 60_000);

  it("takes over the CRDs of a release installed from a chart with crds/ (0.1.0) on helm upgrade --take-ownership, and only then", async () => {
    ok(["install", "mc", chartWithCrdsFolder(), "-n", NS, "--create-namespace"]);
    expect((await crd("modelversions.modelchain.io")).metadata?.labels).toBeUndefined();
    const refused = run(["upgrade", "mc", CHART, "-n", NS]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(
      /CustomResourceDefinition "model[a-z]+\.modelchain\.io".*invalid ownership metadata/,
    );
    ok(["upgrade", "mc", CHART, "-n", NS, "--take-ownership"]);
    installed = await liveTls();
  }, 120_000);

  it("owns the CRDs as release objects, Established, annotated keep, and puts the Secret's CA in every caBundle", async () => {
    for (const name of CRDS) {
      const live = await crd(name);
      expect(live.metadata?.labels?.["app.kubernetes.io/managed-by"], name).toBe("Helm");
      expect(live.metadata?.annotations).toMatchObject({
        "meta.helm.sh/release-name": "mc",
        "meta.helm.sh/release-namespace": NS,
        "helm.sh/resource-policy": "keep",
      });
      expect(live.status?.conditions?.find((c) => c.type === "Established")?.status, name).toBe("True");
    }
    const { data, caBundles } = installed;
    expect(caBundles).toHaveLength(4);
    expect(new Set(caBundles)).toEqual(new Set([data["ca.crt"]]));
    const cert = new X509Certificate(Buffer.from(data["tls.crt"] ?? "", "base64"));
    const ca = new X509Certificate(Buffer.from(data["ca.crt"] ?? "", "base64"));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain(`DNS:mc-webhook.${NS}.svc`);
  });

  it("renders the same manifests twice against the cluster, with the CA it holds, and two upgrades keep that CA", async () => {
    const template = () => ok(["template", "mc", CHART, "-n", NS, "--dry-run=server"]);
    const first = template();
    expect(template()).toBe(first);
    expect(tlsOf(parseObjects(first))).toEqual(installed);
    const dryUpgrade = () =>
      ok(["upgrade", "mc", CHART, "-n", NS, "--dry-run=server", "--set", "operator.workers=3"]).replace(
        /LAST DEPLOYED: .*\n/,
        "",
      );
    const dry = dryUpgrade();
    expect(dryUpgrade()).toBe(dry);
    for (const workers of ["3", "4"]) {
      ok(["upgrade", "mc", CHART, "-n", NS, "--set", `operator.workers=${workers}`]);
      expect(await liveTls(), `after the upgrade to workers=${workers}`).toEqual(installed);
      expect(tlsOf(parseObjects(ok(["get", "manifest", "mc", "-n", NS])))).toEqual(installed);
    }
  }, 120_000);

  it("upgrades a CRD with helm upgrade", async () => {
    expect((await crd("modeltrustpolicies.modelchain.io")).spec.names.shortNames).toEqual(["mtp"]);
    ok(["upgrade", "mc", chartWithChangedCrd(), "-n", NS]);
    expect((await crd("modeltrustpolicies.modelchain.io")).spec.names.shortNames).toEqual(["mtp", "mtpnext"]);
    ok(["upgrade", "mc", CHART, "-n", NS]);
    expect((await crd("modeltrustpolicies.modelchain.io")).spec.names.shortNames).toEqual(["mtp"]);
  }, 120_000);

  it("keeps the CRDs when an upgrade turns crds.enabled off, and owns them again when it is turned back on", async () => {
    ok(["upgrade", "mc", CHART, "-n", NS, "--set", "crds.enabled=false"]);
    for (const name of CRDS) expect((await crd(name)).metadata?.name).toBe(name);
    // Without --set or -f, helm upgrade reuses the last release's values (crds.enabled=false).
    ok(["upgrade", "mc", CHART, "-n", NS, "--reset-values"]);
    expect(
      parseObjects(ok(["get", "manifest", "mc", "-n", NS])).filter(
        (o) => o["kind"] === "CustomResourceDefinition",
      ),
    ).toHaveLength(CRDS.length);
  }, 120_000);

  it("switches to the standalone webhook with a PodDisruptionBudget and NetworkPolicies the API server accepts, keeping the CA", async () => {
    ok([
      "upgrade",
      "mc",
      CHART,
      "-n",
      NS,
      "--set",
      "webhook.mode=standalone",
      "--set",
      "networkPolicy.enabled=true",
      "--set-json",
      'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
    ]);
    const pdb = await cp.kubeConfig
      .makeApiClient(PolicyV1Api)
      .readNamespacedPodDisruptionBudget({ name: "mc-webhook", namespace: NS });
    expect(pdb.spec?.selector?.matchLabels?.["app.kubernetes.io/component"]).toBe("webhook");
    const policies = await cp.kubeConfig
      .makeApiClient(NetworkingV1Api)
      .listNamespacedNetworkPolicy({ namespace: NS });
    expect(policies.items.map((p) => p.metadata?.name).sort()).toEqual(["mc-operator", "mc-webhook"]);
    expect(await liveTls()).toEqual(installed);
  }, 120_000);

  it("uninstalls leaving the CRDs and the objects in them (crds.keep), and installs again over them", async () => {
    const policies = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const policy = parse(readFileSync(join(ROOT, "samples", "trust-policy.yaml"), "utf8")) as object;
    await policies.createClusterCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      plural: "modeltrustpolicies",
      body: policy,
    });
    ok(["uninstall", "mc", "-n", NS]);
    for (const name of CRDS) expect((await crd(name)).metadata?.name).toBe(name);
    const kept = (await policies.getClusterCustomObject({
      group: "modelchain.io",
      version: "v1alpha1",
      plural: "modeltrustpolicies",
      name: "ml-models",
    })) as { metadata: { name: string } };
    expect(kept.metadata.name).toBe("ml-models");
    ok(["install", "mc", CHART, "-n", NS]);
    // A new release generates a new CA: the old Secret went with the old release.
    expect((await liveTls()).data["ca.crt"]).not.toBe(installed.data["ca.crt"]);
  }, 120_000);
});
