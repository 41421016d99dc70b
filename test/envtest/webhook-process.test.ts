// `modelchain webhook` and `modelchain operator` as processes against a real kube-apiserver,
// driven by the real kubectl: readiness that follows the informers both ways (RBAC refusing a
// list, the API server stopped), a parent created by the same `kubectl apply` as its child
// admitted although the webhook's informers see it late, a finalizer removable with the webhook
// down and failurePolicy Fail, and every port bound where the log says.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ModelVersionSpec } from "../../src/api/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
import { validatingWebhookConfiguration } from "../../src/webhook/index.ts";
import { sampleObjects } from "../api/samples.ts";
import { kubectlBinary } from "../helm/helm.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { post } from "../webhook/https-client.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { startLaggingProxy, type LaggingProxy } from "./lagging-proxy.ts";
import { freePort, waitFor } from "./processes.ts";
import { servingCertificate } from "./webhook-tls.ts";

const skip = skipWithoutAssets("modelchain webhook and operator processes");
const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const demoKey = createPrivateKey(readFileSync(join("samples", "keys", "demo-signing.pem")));

interface Running {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const running: Running[] = [];

function modelchain(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  proc.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  proc.stderr?.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const r = { proc, output: () => out, exited };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  if (r.proc.exitCode !== null) return;
  r.proc.kill("SIGTERM");
  await r.exited;
}

/** GET over HTTPS (the webhook's self-signed CA) or HTTP: status and body. */
async function probe(url: string, ca?: string): Promise<{ status: number; body: string }> {
  const { request } = url.startsWith("https") ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Whether something accepts a TCP connection on host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * The real kubectl, run asynchronously: the lagging proxy lives in this process, and a
 * synchronous spawn would stop it from forwarding the webhook's lookups while kubectl waits.
 */
function kubectl(kubeconfig: string, args: string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(kubectlBinary(), ["--kubeconfig", kubeconfig, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (out += c.toString()));
    proc.once("close", (code) => resolve({ status: code ?? -1, out }));
  });
}

describe.skipIf(skip)("modelchain webhook and operator as processes", () => {
  let cp: ControlPlane;
  let tls: ReturnType<typeof servingCertificate>;
  const state = tempDir("modelchain-webhook-process-");
  let core: CoreV1Api;

  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    tls = servingCertificate();
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    for (const file of ["namespace.yaml", "trust-policy.yaml"])
      expect((await kubectl(cp.kubeconfigPath, ["apply", "-f", join("samples", file)])).status).toBe(0);
  }, 180_000);
  afterAll(async () => {
    for (const r of running) r.proc.kill("SIGKILL");
    await cp?.stop();
    state.remove();
  });

  /** `modelchain webhook --source kube` on a free port; resolves once it logs where it listens. */
  async function webhook(kubeconfig: string, extra: string[] = []): Promise<Running & { url: string }> {
    const r = modelchain([
      "webhook",
      "--kubeconfig",
      kubeconfig,
      "--tls-cert",
      tls.certFile,
      "--tls-key",
      tls.keyFile,
      "--port",
      String(await freePort()),
      "--cluster",
      "envtest",
      ...extra,
    ]);
    await waitFor(
      "webhook listening",
      async () => r.output().includes("webhook listening on"),
      30_000,
      r.output,
    );
    const address = /webhook listening on https:\/\/([^\s"]+)/.exec(r.output())?.[1] ?? "";
    return { ...r, url: `https://${address}` };
  }

  /** A kubeconfig for a ServiceAccount token, whose permissions the test grants and takes away. */
  async function serviceAccountKubeconfig(name: string): Promise<string> {
    await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name } } });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: "default",
      name,
      body: {
        spec: { audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600 },
      },
    });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: "envtest", server: cp.apiServerUrl, caData: Buffer.from(cp.caPem).toString("base64") },
      ],
      users: [{ name, token: token.status?.token ?? "" }],
      contexts: [{ name, cluster: "envtest", user: name }],
      currentContext: name,
    });
    const path = join(state.dir, `${name}.kubeconfig`);
    writeFileSync(path, kc.exportConfig());
    return path;
  }

  async function grant(name: string, resources: Array<[string, string]>): Promise<void> {
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const rules = resources.map(([apiGroup, resource]) => ({
      apiGroups: [apiGroup],
      resources: [resource],
      verbs: ["get", "list", "watch"],
    }));
    await rbac.deleteClusterRole({ name }).catch(() => undefined);
    await rbac.createClusterRole({ body: { metadata: { name }, rules } });
    await rbac
      .createClusterRoleBinding({
        body: {
          metadata: { name },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
          subjects: [{ kind: "ServiceAccount", name, namespace: "default" }],
        },
      })
      .catch(() => undefined);
  }

  function review(): string {
    const md = sampleObjects("deployment.yaml").find((o) => o["kind"] === "ModelDeployment");
    return JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "readiness-review",
        kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
        resource: { group: "modelchain.io", version: "v1alpha1", resource: "modeldeployments" },
        operation: "CREATE",
        namespace: "ml",
        name: "support-chat",
        userInfo: { username: "test" },
        object: md,
      },
    });
  }

  it("is not ready while an informer's list is refused, denies gated reviews saying why, and is ready once allowed", async () => {
    const kubeconfig = await serviceAccountKubeconfig("mc-webhook");
    const everythingBut = [
      ["modelchain.io", "modelversions"],
      ["modelchain.io", "modeltrustpolicies"],
      ["", "namespaces"],
      ["", "configmaps"],
    ] as Array<[string, string]>;
    await grant("mc-webhook", everythingBut);
    const w = await webhook(kubeconfig);
    await waitFor(
      "the secrets informer refused",
      // Not just "secrets": before the 403 arrives /readyz says the informer has not listed yet.
      async () => (await probe(`${w.url}/readyz`, tls.caPem)).body.includes("informer for secrets failed"),
      30_000,
      w.output,
    );
    const readyz = await probe(`${w.url}/readyz`, tls.caPem);
    expect(readyz.status).toBe(503);
    expect(readyz.body).toMatch(/informer for secrets failed: 403 Forbidden: secrets is forbidden: User/);
    expect(readyz.body).not.toMatch(/Headers|HTTP-Code/);
    expect((await probe(`${w.url}/healthz`, tls.caPem)).status).toBe(200);
    const answer = await post(Number(new URL(w.url).port), review());
    const response = (JSON.parse(answer.text) as { response: Record<string, any> }).response;
    expect(response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(response["status"]["message"]).toMatch(/webhook not ready.*informer for secrets failed: 403/);
    // The informer's failure is logged in one line, without the response's headers.
    expect(w.output()).toMatch(/webhook source error/);
    expect(w.output()).not.toMatch(/Headers:|"set-cookie"|audit-id/i);

    await grant("mc-webhook", [...everythingBut, ["", "secrets"]]);
    await waitFor(
      "/readyz 200 after the list is allowed",
      async () => (await probe(`${w.url}/readyz`, tls.caPem)).status === 200,
      60_000,
      w.output,
    );
    await stop(w);
  }, 120_000);

  it("stops being ready when the API server stops, and is ready again when it is back", async () => {
    const w = await webhook(cp.kubeconfigPath);
    const readyz = () => probe(`${w.url}/readyz`, tls.caPem);
    await waitFor("ready", async () => (await readyz()).status === 200, 30_000, w.output);
    await cp.stopApiServer();
    await waitFor(
      "not ready with the API server gone",
      async () => (await readyz()).status === 503,
      30_000,
      w.output,
    );
    expect((await readyz()).body).toMatch(/informer for \w+ failed/);
    await cp.startApiServer();
    await waitFor("ready again", async () => (await readyz()).status === 200, 90_000, w.output);
    await stop(w);
  }, 240_000);

  /** Points the API server at `url` (Fail), with or without the generator's matchConditions. */
  async function configure(url: string, matchConditions = true): Promise<void> {
    const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const body = validatingWebhookConfiguration({
      url: `${url}/validate`,
      caBundle: Buffer.from(tls.caPem).toString("base64"),
      failurePolicy: "Fail",
    });
    if (!matchConditions) for (const w of body.webhooks ?? []) delete w.matchConditions;
    await admission.deleteValidatingWebhookConfiguration({ name: "modelchain" }).catch(() => undefined);
    await admission.createValidatingWebhookConfiguration({ body });
    // The API server picks the configuration up asynchronously: wait for a denial by modelchain.
    const probeFile = join(state.dir, "probe.yaml");
    writeFileSync(
      probeFile,
      stringify(sampleObjects("bad/unpinned-image.yaml").find((o) => o["kind"] === "ModelDeployment")),
    );
    await waitFor(
      "webhook configuration in effect",
      async () =>
        (await kubectl(cp.kubeconfigPath, ["apply", "--dry-run=server", "-f", probeFile])).out.includes(
          "modelchain",
        ),
      30_000,
    );
  }

  it("admits a ModelDeployment applied in one file with its ModelVersion and that one's parent, though the informers see both late", async () => {
    const proxy: LaggingProxy = await startLaggingProxy(cp, 3_000, state.dir);
    try {
      const w = await webhook(proxy.kubeconfigPath);
      await waitFor(
        "ready",
        async () => (await probe(`${w.url}/readyz`, tls.caPem)).status === 200,
        30_000,
        w.output,
      );
      await configure(w.url);
      const chain = ["base-model.yaml", "fine-tuned.yaml", "deployment.yaml"]
        .flatMap((f) => sampleObjects(f))
        .map((o) => stringify(o))
        .join("---\n");
      const file = join(state.dir, "chain.yaml");
      writeFileSync(file, chain);
      const applied = await kubectl(cp.kubeconfigPath, ["apply", "-f", file]);
      expect(applied.out, w.output()).toContain("modeldeployment.modelchain.io/support-chat created");
      expect(applied.status, applied.out).toBe(0);
      // The same lag still denies a parent that does not exist, through the same read-through.
      const orphan = sampleObjects("fine-tuned.yaml")[0] as Record<string, any>;
      orphan["metadata"] = { name: "orphan-v1", namespace: "ml" };
      orphan["spec"] = { ...orphan["spec"], parents: [{ name: "no-such-base" }] };
      orphan["spec"]["signatures"] = [signSpec(orphan["spec"] as ModelVersionSpec, demoKey)];
      const md = sampleObjects("deployment.yaml")[0] as Record<string, any>;
      md["metadata"] = { name: "orphan-chat", namespace: "ml" };
      md["spec"] = { ...md["spec"], modelVersion: "orphan-v1" };
      const orphanFile = join(state.dir, "orphan.yaml");
      writeFileSync(orphanFile, `${stringify(orphan)}---\n${stringify(md)}`);
      const denied = await kubectl(cp.kubeconfigPath, ["apply", "-f", orphanFile]);
      expect(denied.status).not.toBe(0);
      expect(denied.out).toContain("modelversion.modelchain.io/orphan-v1 created");
      expect(denied.out).toMatch(
        /denied the request: modelchain: parentsVerified failed: ModelVersion ml\/orphan-v1: .*no-such-base/,
      );
      await stop(w);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it("lets the finalizer of a ModelDeployment being deleted be removed with the webhook down and failurePolicy Fail", async () => {
    const w = await webhook(cp.kubeconfigPath);
    await waitFor(
      "ready",
      async () => (await probe(`${w.url}/readyz`, tls.caPem)).status === 200,
      30_000,
      w.output,
    );
    await configure(w.url, false);
    for (const f of ["base-model.yaml", "fine-tuned.yaml"])
      expect((await kubectl(cp.kubeconfigPath, ["apply", "-f", join("samples", f)])).status).toBe(0);
    const md = sampleObjects("deployment.yaml")[0] as Record<string, any>;
    const stuck = (name: string) => ({
      ...md,
      metadata: { name, namespace: "ml", finalizers: ["modelchain.io/ledger-record"] },
    });
    for (const name of ["stuck-without-conditions", "stuck"]) {
      const file = join(state.dir, `${name}.yaml`);
      writeFileSync(file, stringify(stuck(name)));
      const created = await kubectl(cp.kubeconfigPath, ["apply", "-f", file]);
      expect(created.status, created.out).toBe(0);
      expect(
        (await kubectl(cp.kubeconfigPath, ["-n", "ml", "delete", "md", name, "--wait=false"])).status,
      ).toBe(0);
    }
    const liveFile = join(state.dir, "live-chat.yaml");
    writeFileSync(liveFile, stringify({ ...md, metadata: { name: "live-chat", namespace: "ml" } }));
    expect((await kubectl(cp.kubeconfigPath, ["apply", "-f", liveFile])).status).toBe(0);
    await stop(w);
    const removeFinalizer = (name: string) =>
      kubectl(cp.kubeconfigPath, [
        "-n",
        "ml",
        "patch",
        "md",
        name,
        "--type=json",
        "-p",
        '[{"op":"test","path":"/metadata/finalizers/0","value":"modelchain.io/ledger-record"},{"op":"remove","path":"/metadata/finalizers/0"}]',
      ]);
    // Without the matchConditions the API server must call the webhook, which is down: refused.
    const refused = await removeFinalizer("stuck-without-conditions");
    expect(refused.status).not.toBe(0);
    expect(refused.out).toMatch(/failed calling webhook/);
    // With the configuration modelchain generates, the finalizer comes off and the object goes.
    const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const config = await admission.readValidatingWebhookConfiguration({ name: "modelchain" });
    const generated = validatingWebhookConfiguration({ url: `${w.url}/validate` }).webhooks ?? [];
    for (const [i, hook] of (config.webhooks ?? []).entries())
      if (generated[i]?.matchConditions !== undefined) hook.matchConditions = generated[i].matchConditions;
    await admission.replaceValidatingWebhookConfiguration({ name: "modelchain", body: config });
    for (const name of ["stuck", "stuck-without-conditions"])
      await waitFor(
        `the finalizer of ${name} removed`,
        async () => (await removeFinalizer(name)).status === 0,
        30_000,
      );
    await waitFor(
      "both gone",
      async () =>
        (
          await kubectl(cp.kubeconfigPath, ["-n", "ml", "get", "md", "stuck", "stuck-without-conditions"])
        ).out.includes("NotFound"),
      30_000,
    );
    // A spec change of a ModelDeployment that is not being deleted still needs the webhook.
    const live = await kubectl(cp.kubeconfigPath, [
      "-n",
      "ml",
      "patch",
      "md",
      "support-chat",
      "--type=merge",
      "-p",
      '{"spec":{"replicas":3}}',
    ]);
    expect(live.status).not.toBe(0);
    expect(live.out).toMatch(/failed calling webhook/);
  }, 120_000);

  it("binds every port of the operator and the webhook to 127.0.0.1 unless told otherwise, as logged", async () => {
    // A kubeconfig whose current context leads nowhere: --context picks the one that works.
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    kc.loadFromOptions({
      clusters: [...kc.clusters, { name: "nowhere", server: "https://127.0.0.1:9", skipTLSVerify: true }],
      users: kc.users,
      contexts: [...kc.contexts, { name: "nowhere", cluster: "nowhere", user: kc.users[0]?.name ?? "" }],
      currentContext: "nowhere",
    });
    const twoContexts = join(state.dir, "two-contexts.kubeconfig");
    writeFileSync(twoContexts, kc.exportConfig());
    const w = await webhook(twoContexts, ["--context", "envtest", "--metrics-port", "0"]);
    await waitFor(
      "ready through --context",
      async () => (await probe(`${w.url}/readyz`, tls.caPem)).status === 200,
      30_000,
      w.output,
    );
    await waitFor("metrics logged", async () => w.output().includes("/metrics"), 30_000, w.output);
    const metrics = /serving (http:\/\/[^\s"]+)/.exec(w.output())?.[1] ?? "";
    const op = modelchain([
      "operator",
      "--kubeconfig",
      cp.kubeconfigPath,
      "--state-dir",
      join(state.dir, "operator"),
      "--health-port",
      "0",
      "--metrics-port",
      "0",
      "--webhook-port",
      "0",
      "--tls-cert",
      tls.certFile,
      "--tls-key",
      tls.keyFile,
    ]);
    await waitFor(
      "operator started",
      async () => op.output().includes("operator started"),
      60_000,
      op.output,
    );
    const line = JSON.parse(
      op
        .output()
        .split("\n")
        .find((l) => l.includes("operator started")) ?? "{}",
    ) as Record<string, string>;
    const urls = [
      `${w.url}/healthz`,
      metrics,
      `${line["health"]}/healthz`,
      line["metrics"] ?? "",
      (line["webhook"] ?? "").replace("/validate", "/healthz"),
    ];
    for (const url of urls) {
      const { hostname, port } = new URL(url);
      expect(hostname, url).toBe("127.0.0.1");
      expect((await probe(url, tls.caPem)).status, url).toBe(200);
      // 127.0.0.2 is this machine too: a socket bound to 0.0.0.0 would accept there.
      expect(await accepts("127.0.0.2", Number(port)), url).toBe(false);
    }
    await stop(op);
    await stop(w);
  }, 120_000);
});
