// The kubectl plugin as kubectl users run it: the package compiled as it is published, its bin
// `kubectl-modelchain` on PATH (linked and made executable as npm does), the real kubectl finding
// it, the current kubeconfig context (and its namespace) against a real kube-apiserver.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileLedger } from "../../src/ledger/index.ts";
import { denialEntry } from "../../src/webhook/denials.ts";
import { sampleObjects } from "../api/samples.ts";
import { kubectlBinary } from "../helm/helm.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { skipWithoutAssets } from "./assets.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { waitFor } from "./processes.ts";

const skip = skipWithoutAssets("kubectl modelchain against kube-apiserver");
const root = join(import.meta.dirname, "..", "..");

describe.skipIf(skip)("kubectl modelchain (the kubectl plugin)", () => {
  let cp: ControlPlane;
  const work = tempDir("modelchain-kubectl-plugin-");
  let build = "";
  let kubeconfig = "";
  let path = "";
  const ledger = () => join(work.dir, "state", "ledger");

  /** The real kubectl with the plugin directory first on PATH; KUBECONFIG names the current context. */
  function kubectl(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const proc = spawn(kubectlBinary(), args, {
        env: { ...process.env, PATH: path, KUBECONFIG: kubeconfig, MODELCHAIN_LEDGER: "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      proc.once("close", (status) => resolve({ status: status ?? -1, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    cp = await startControlPlane({ crds: true });
    // A context whose namespace is ml: the plugin must pick it up as kubectl does.
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const context = kc.getContextObject(kc.getCurrentContext());
    kc.loadFromOptions({
      clusters: kc.clusters,
      users: kc.users,
      contexts: [
        {
          ...context,
          name: "ml-context",
          cluster: context?.cluster ?? "",
          user: context?.user ?? "",
          namespace: "ml",
        },
      ],
      currentContext: "ml-context",
    });
    kubeconfig = join(work.dir, "kubeconfig");
    writeFileSync(kubeconfig, kc.exportConfig());
    // Compiled inside the project, so the output resolves its dependencies from node_modules.
    mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
    build = mkdtempSync(join(root, "node_modules", ".cache", "plugin-build-"));
    const built = spawnSync(process.execPath, [join(root, "scripts/build.ts"), build], { encoding: "utf8" });
    expect(built.status, built.stdout + built.stderr).toBe(0);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    const entry = join(build, (pkg.bin["kubectl-modelchain"] ?? "").replace(/^dist\//, ""));
    chmodSync(entry, 0o755);
    const bin = join(work.dir, "bin");
    mkdirSync(bin);
    symlinkSync(entry, join(bin, "kubectl-modelchain"));
    // `#!/usr/bin/env node` must find Node 24: the project's node_modules/.bin comes next.
    path = `${bin}:${join(root, "node_modules", ".bin")}:${process.env["PATH"] ?? ""}`;
    for (const f of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"])
      expect((await kubectl(["apply", "-f", join(root, "samples", f)])).status).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await cp?.stop();
    if (build !== "") rmSync(build, { recursive: true, force: true });
    work.remove();
  });

  it("is found by kubectl on PATH", async () => {
    const list = await kubectl(["plugin", "list"]);
    expect(list.stdout).toContain(join(work.dir, "bin", "kubectl-modelchain"));
    const help = await kubectl(["modelchain", "--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: kubectl modelchain/);
    for (const sub of ["history", "verify", "check", "explain-denial"]) expect(help.stdout).toContain(sub);
  });

  it("checks manifests against the cluster's trust policies and ModelVersions", async () => {
    const ok = await kubectl(["modelchain", "check", "-f", join(root, "samples", "deployment.yaml")]);
    expect(ok.stdout).toMatch(/^ALLOWED ModelDeployment ml\/support-chat: verified$/m);
    expect(ok.status, ok.stderr).toBe(0);
    const bad = await kubectl(["modelchain", "check", "-f", join(root, "samples", "bad", "unsigned.yaml")]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^DENIED {2}ModelVersion ml\/\S+: modelchain: signature failed/m);
  });

  it(
    "explains a stored object's failed check and its fix, and a manifest's",
    { timeout: 90_000 },
    async () => {
      // The CRD itself now refuses an unpinned image, so the stored object names a ModelVersion
      // that does not exist: stored without a webhook in the way, as one admitted before a
      // policy existed would be.
      const orphan = structuredClone(
        sampleObjects("deployment.yaml").find((o) => o["kind"] === "ModelDeployment") ?? {},
      ) as { metadata: { name: string }; spec: { modelVersion: string } };
      orphan.metadata.name = "chat-without-model";
      orphan.spec.modelVersion = "never-registered";
      const file = join(work.dir, "orphan.yaml");
      writeFileSync(file, JSON.stringify(orphan));
      expect((await kubectl(["apply", "-f", file])).status).toBe(0);
      const name = orphan.metadata.name;
      const stored = await kubectl(["modelchain", "explain-denial", `md/${name}`]);
      expect(stored.status).toBe(1);
      expect(stored.stdout).toContain(
        `ModelDeployment ml/${name}: would be denied now (model-version-missing)`,
      );
      expect(stored.stdout).toMatch(
        /✗ modelVersionExists \(ModelTrustPolicy ml-models, mode enforce\): ModelVersion ml\/never-registered does not exist/,
      );
      expect(stored.stdout).toMatch(/fix: apply the ModelVersion first/);
      const json = await kubectl([
        "modelchain",
        "explain-denial",
        "-f",
        join(root, "samples", "bad", "unsigned.yaml"),
        "-o",
        "json",
      ]);
      expect(json.status).toBe(1);
      const [explained] = JSON.parse(json.stdout) as Array<{ checks: Array<{ check: string; fix: string }> }>;
      expect(explained?.checks[0]).toMatchObject({
        check: "signature",
        fix: expect.stringMatching(/modelchain sign/),
      });
      const missing = await kubectl(["modelchain", "explain-denial", "md/never-created"]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/ModelDeployment ml\/never-created is not in the cluster .*--ledger/);
    },
  );

  it("shows history and verifies the ledger the operator wrote, and the last denial recorded for an object", async () => {
    const operator = spawn(
      process.execPath,
      [
        join(root, "src", "cli", "bin.ts"),
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--state-dir",
        join(work.dir, "state"),
        "--health-port",
        "0",
        "--metrics-port",
        "0",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    operator.stdout.on("data", (c: Buffer) => (out += c.toString()));
    operator.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => operator.once("exit", resolve));
    expect((await kubectl(["apply", "-f", join(root, "samples", "deployment.yaml")])).status).toBe(0);
    await waitFor(
      "the rollout recorded",
      async () => out.includes("RolloutStarted"),
      60_000,
      () => out,
    );
    operator.kill("SIGTERM");
    await exited;

    const history = await kubectl(["modelchain", "history", "support-chat", "--ledger", ledger()]);
    expect(history.status, history.stderr).toBe(0);
    expect(history.stdout).toContain("ml/support-chat");
    expect(history.stdout).toMatch(/RolloutStarted|rollout/i);
    const verify = await kubectl(["modelchain", "verify", "--ledger", ledger()]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout + verify.stderr).toMatch(/ok: \d+ entries/);

    // A denial as the webhook records it (denialEntry is what its recorder appends).
    const md = sampleObjects("bad/unpinned-image.yaml").find((o) => o["kind"] === "ModelDeployment") ?? {};
    const request = {
      uid: "review-1",
      kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
      operation: "CREATE" as const,
      namespace: "ml",
      name: "ghost",
      object: { ...md, metadata: { name: "ghost", namespace: "ml" } },
      oldObject: null,
      dryRun: false,
      userInfo: { username: "alice", uid: "alice-uid", groups: ["system:authenticated"] },
    };
    const finding = {
      reason: "image-not-pinned" as const,
      check: "imagePinned",
      message: 'image "registry.example.com/serving/vllm:latest" at spec.image is not pinned by digest',
      policy: "ml-models",
      mode: "enforce" as const,
    };
    const file = await FileLedger.open(ledger());
    await file.append([denialEntry(request, finding, undefined, "envtest", new Date())]);
    await file.close();
    const ghost = await kubectl(["modelchain", "explain-denial", "md/ghost", "--ledger", ledger()]);
    expect(ghost.status, ghost.stderr).toBe(0);
    expect(ghost.stdout).toContain("ModelDeployment ml/ghost: not in the cluster");
    expect(ghost.stdout).toMatch(/last denial recorded: ledger entry \d+, .*, CREATE by alice/);
    expect(ghost.stdout).toMatch(/✗ imagePinned \(ModelTrustPolicy ml-models, mode enforce\)/);
    expect(ghost.stdout).toMatch(/fix: pin every container image by digest/);
  }, 180_000);
});
