// `make run`'s first step (scripts/run.sh, `modelchain cluster-info`) against a real kube-apiserver:
// no kubeconfig says so and runs the demo; refused credentials (401, 403) say so in one line and
// exit 1 instead of falling back to the demo; `make walkthrough` keeps out of the operator's ledger.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../ledger/fixtures.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";

const skip = skipWithoutAssets("make run against kube-apiserver");
const root = join(import.meta.dirname, "..", "..");
const nodeBin = join(root, "node_modules", ".bin");

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with the test's environment minus KUBECONFIG, plus `env`; stops it once `until` shows. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, until?: RegExp): Promise<Ran> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base["KUBECONFIG"];
    const proc = spawn(command, args, {
      cwd: root,
      env: { ...base, PATH: `${nodeBin}:${process.env["PATH"] ?? ""}`, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    const check = () => {
      if (until !== undefined && until.test(stdout + stderr) && proc.pid !== undefined)
        process.kill(-proc.pid);
    };
    proc.stdout.on("data", (c: Buffer) => ((stdout += c.toString()), check()));
    proc.stderr.on("data", (c: Buffer) => ((stderr += c.toString()), check()));
    proc.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe.skipIf(skip)("make run", () => {
  let cp: ControlPlane;
  const home = tempDir("modelchain-make-run-");

  beforeAll(async () => {
    cp = await startControlPlane({ crds: false });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
    home.remove();
  });

  function kubeconfigWithToken(name: string, token: string): string {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: "envtest", server: cp.apiServerUrl, caData: Buffer.from(cp.caPem).toString("base64") },
      ],
      users: [{ name, token }],
      contexts: [{ name: `${name}-context`, cluster: "envtest", user: name }],
      currentContext: `${name}-context`,
    });
    const path = join(home.dir, `${name}.kubeconfig`);
    writeFileSync(path, kc.exportConfig());
    return path;
  }

  it("says there is no kubeconfig in one line and runs the demo", async () => {
    const ran = await run(
      "scripts/run.sh",
      [],
      { HOME: home.dir, STATE_DIR: join(home.dir, "state") },
      /modelchain demo/,
    );
    expect(ran.stdout.split("\n")[0]).toBe(
      "make run: no kubeconfig: KUBECONFIG unset and ~/.kube/config missing — get a cluster with 'make kind-up' (needs docker and kind); running 'modelchain demo' instead.",
    );
  }, 60_000);

  it("stops with one line and exit 1 when the API server refuses the token (401), without the demo", async () => {
    const kubeconfig = kubeconfigWithToken("stranger", "not-a-token-this-server-knows");
    const ran = await run("scripts/run.sh", [], {
      HOME: home.dir,
      KUBECONFIG: kubeconfig,
      STATE_DIR: join(home.dir, "state-401"),
    });
    expect(ran.status).toBe(1);
    expect(ran.stdout).toBe("");
    expect(ran.stderr).toBe(
      `make run: ${cp.apiServerUrl} refused the credentials of user "stranger" (context "stranger-context"): 401 Unauthorized\n`,
    );
    expect(existsSync(join(home.dir, "state-401"))).toBe(false);
  }, 60_000);

  it("stops with one line and exit 1 when the user may not read the cluster (403)", async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: "default",
      body: { metadata: { name: "nobody" } },
    });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: "default",
      name: "nobody",
      body: { spec: { audiences: ["https://kubernetes.default.svc.cluster.local"] } },
    });
    const kubeconfig = kubeconfigWithToken("nobody", token.status?.token ?? "");
    const ran = await run("scripts/run.sh", [], { HOME: home.dir, KUBECONFIG: kubeconfig });
    expect(ran.status).toBe(1);
    const lines = ran.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^make run: https:\/\/127\.0\.0\.1:\d+ refused the credentials of user "nobody" \(context "nobody-context"\): 403 Forbidden: namespaces is forbidden: User "system:serviceaccount:default:nobody" cannot list resource "namespaces"/,
    );
    expect(ran.stderr).not.toMatch(/Headers|HTTP-Code|audit-id/i);
    // cluster-info itself: the same reason in its JSON, exit 1.
    const info = await run("node", ["src/cli/bin.ts", "cluster-info", "--kubeconfig", kubeconfig], {});
    expect(info.status).toBe(1);
    expect(JSON.parse(info.stdout)).toMatchObject({ reachable: false, reason: "credentials-refused" });
  }, 60_000);

  it("names the server, version and context when the credentials are accepted", async () => {
    const info = await run("node", ["src/cli/bin.ts", "cluster-info", "--kubeconfig", cp.kubeconfigPath], {});
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      reachable: true,
      server: cp.apiServerUrl,
      context: "envtest",
    });
  }, 60_000);

  it("runs `make walkthrough` on a ledger of its own, leaving the operator's .state/ledger alone", async () => {
    const state = join(home.dir, "walk-state");
    mkdirSync(state, { recursive: true });
    const ran = await run("make", ["--no-print-directory", "walkthrough", `STATE_DIR=${state}`], {});
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toContain(`Ledger directory: ${join(state, "walkthrough", "ledger")}`);
    expect(existsSync(join(state, "walkthrough", "ledger", "ledger.json"))).toBe(true);
    expect(existsSync(join(state, "ledger"))).toBe(false);
  }, 180_000);
});
