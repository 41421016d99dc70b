import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readFileSync, rmSync } from "node:fs";
import {
  AdmissionregistrationV1Api,
  KubernetesObjectApi,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { validatingWebhookConfiguration } from "../../src/webhook/index.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { skipWithoutAssets } from "./assets.ts";
import { freePort, waitFor } from "./processes.ts";
import { sampleObjects } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { auditFileLedger, FileLedger } from "../../src/ledger/index.ts";

const skip = skipWithoutAssets("operator processes and leader election against kube-apiserver");
const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));

interface Running {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe.skipIf(skip)("modelchain operator as a process", () => {
  let cp: ControlPlane;
  const state = tempDir("modelchain-operator-process-");
  const running: Running[] = [];

  function operator(extra: string[] = []): Running {
    const proc = spawn(
      process.execPath,
      [
        bin,
        "operator",
        "--kubeconfig",
        cp.kubeconfigPath,
        "--install-crds",
        "--state-dir",
        state.dir,
        "--leader-elect",
        "--leader-election-namespace",
        "default",
        "--health-port",
        "0",
        "--metrics-port",
        "0",
        "--cluster",
        "envtest",
        ...extra,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    proc.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    proc.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const r = { proc, output: () => out, exited };
    running.push(r);
    return r;
  }

  async function countKind(kind: string): Promise<number> {
    const ledger = await FileLedger.open(`${state.dir}/ledger`, { readOnly: true });
    try {
      let n = 0;
      for (let i = 0; i < (await ledger.size()); i++)
        if ((await ledger.get(i)).envelope.entry.kind === kind) n++;
      return n;
    } finally {
      await ledger.close();
    }
  }
  const registrations = () => countKind("ModelVersionRegistered");

  beforeAll(async () => {
    cp = await startControlPlane({ crds: false });
  });
  afterAll(async () => {
    for (const r of running) r.proc.kill("SIGKILL");
    await cp?.stop();
    state.remove();
  });

  it("installs the CRDs, leads alone, hands over on SIGTERM, and records nothing twice", async () => {
    const a = operator();
    await waitFor(
      "first operator leading",
      async () => a.output().includes("became leader"),
      60_000,
      a.output,
    );
    const b = operator();
    await waitFor(
      "second operator connected",
      async () => b.output().includes('"msg":"connected"'),
      30_000,
      b.output,
    );
    const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
    for (const file of ["namespace.yaml", "trust-policy.yaml", "base-model.yaml", "fine-tuned.yaml"]) {
      for (const o of sampleObjects(file)) await objects.create(o as KubernetesObject);
    }
    await waitFor("registrations by the leader", async () => (await registrations()) === 2, 30_000, a.output);
    expect(b.output()).not.toContain("became leader");

    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect(a.output()).toContain("shutting down");
    await waitFor(
      "second operator takes over",
      async () => b.output().includes("became leader"),
      20_000,
      b.output,
    );
    for (const o of sampleObjects("bad/unsigned.yaml").filter((x) => x["kind"] === "ModelVersion"))
      await objects.create(o as KubernetesObject);
    await waitFor(
      "registration by the new leader",
      async () => (await registrations()) === 3,
      30_000,
      b.output,
    );

    b.proc.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    const audit = await auditFileLedger(`${state.dir}/ledger`);
    expect(audit.problem).toBeUndefined();
    expect(await registrations()).toBe(3);
  });

  it.skipIf(!hasOpenssl())(
    "serves the webhook in-process and records each denial in the ledger through its outbox",
    async () => {
      const tls = certDir();
      const port = await freePort();
      const c = operator([
        "--webhook-port",
        String(port),
        "--tls-cert",
        tls.certFile,
        "--tls-key",
        tls.keyFile,
      ]);
      await waitFor(
        "operator with webhook leading",
        async () => c.output().includes("became leader"),
        60_000,
        c.output,
      );
      const admission = cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
      const caBundle = readFileSync(tls.certFile).toString("base64");
      await admission.createValidatingWebhookConfiguration({
        body: validatingWebhookConfiguration({
          url: `https://127.0.0.1:${port}/validate`,
          caBundle,
          failurePolicy: "Fail",
          timeoutSeconds: 5,
        }),
      });
      const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
      const unsignedDeployment = sampleObjects("bad/unsigned.yaml").find(
        (o) => o["kind"] === "ModelDeployment",
      ) as KubernetesObject;
      const deployment = {
        ...unsignedDeployment,
        metadata: { ...unsignedDeployment.metadata, name: "chat-unsigned-2" },
      };
      let denial = "";
      await waitFor(
        "denial through the real API server",
        async () => {
          denial = await objects.create(deployment).then(
            () => "admitted",
            (e: unknown) =>
              e instanceof Error
                ? `${e.message} ${JSON.stringify((e as { body?: unknown }).body ?? "")}`
                : String(e),
          );
          return denial !== "admitted" && denial.includes("modelchain");
        },
        30_000,
        () => denial,
      );
      expect(denial).toMatch(/is not signed/);
      await waitFor(
        "AdmissionDenied in the ledger",
        async () => (await countKind("AdmissionDenied")) >= 1,
        30_000,
        c.output,
      );
      c.proc.kill("SIGTERM");
      expect(await c.exited).toBe(0);
      await admission.deleteValidatingWebhookConfiguration({ name: "modelchain" });
      rmSync(tls.dir, { recursive: true, force: true });
    },
  );
});
