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
import {
  auditFileLedger,
  FileLedger,
  hashFromHex,
  parseCheckpointBody,
  parseNote,
  publishedSizes,
  readPublishedNoteAt,
  verifyExtends,
} from "../../src/ledger/index.ts";
import { CoreV1Api } from "@kubernetes/client-node";
import { runCliAsync } from "../cli/run-cli.ts";

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

  it(
    "publishes signed checkpoints on schedule while appending: in the directory, on the metrics port and in a ConfigMap; a reader gets one without the lock",
    { timeout: 300_000 },
    async () => {
      const metricsPort = await freePort();
      const d = operator([
        "--metrics-port",
        String(metricsPort),
        "--checkpoint-every-seconds",
        "1",
        "--checkpoint-every-entries",
        "1000",
        "--checkpoint-configmap",
        "default/modelchain-checkpoint",
      ]);
      await waitFor("operator leading", async () => d.output().includes("became leader"), 60_000, d.output);
      const base = `http://127.0.0.1:${metricsPort}`;
      const note = async (): Promise<string | undefined> => {
        const r = await fetch(`${base}/checkpoint`).catch(() => undefined);
        return r?.status === 200 ? r.text() : undefined;
      };
      const sizeOf = (text: string) => parseCheckpointBody(parseNote(text).body);
      let first: string | undefined;
      await waitFor(
        "a published checkpoint",
        async () => (first = await note()) !== undefined,
        30_000,
        d.output,
      );
      const firstHead = sizeOf(first!);
      const objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
      // The namespace the first test made, when this one runs alone.
      for (const o of sampleObjects("namespace.yaml"))
        await objects.create(o as KubernetesObject).catch((e: unknown) => {
          if ((e as { code?: number }).code !== 409) throw e;
        });
      const unsigned = sampleObjects("bad/unsigned.yaml").find((o) => o["kind"] === "ModelVersion")!;
      for (const round of [1, 2]) {
        const before = sizeOf((await note())!).size;
        for (const i of [1, 2]) {
          const name = `published-${round}-${i}`;
          await objects.create({
            ...unsigned,
            metadata: { ...(unsigned["metadata"] as Record<string, unknown>), name },
          } as KubernetesObject);
        }
        // Two new registrations, and within the period a checkpoint that covers them.
        await waitFor(
          `checkpoint after round ${round}`,
          async () => sizeOf((await note()) ?? first!).size >= before + 2,
          30_000,
          d.output,
        );
      }
      const latest = (await note())!;
      const head = sizeOf(latest);
      expect(head.size).toBeGreaterThanOrEqual(firstHead.size + 4);
      expect(publishedSizes(`${state.dir}/ledger`).length).toBeGreaterThanOrEqual(3);

      const reader = await runCliAsync([
        "checkpoint",
        "--ledger",
        `${state.dir}/ledger`,
        "--published",
        "--note",
      ]);
      expect(reader.status, reader.stderr).toBe(0);
      expect(sizeOf(reader.stdout).size).toBeGreaterThanOrEqual(head.size);
      // From the first published checkpoint that is not the empty tree's.
      const ledgerDir = `${state.dir}/ledger`;
      const older = sizeOf(
        readPublishedNoteAt(
          ledgerDir,
          publishedSizes(ledgerDir).find((n) => n > 0)!,
        )!,
      );
      const proofResponse = await fetch(`${base}/checkpoint/consistency?from=${older.size}`);
      expect(proofResponse.status).toBe(200);
      const proof = (await proofResponse.json()) as { to: number; toRoot: string; proof: string[] };
      const now = sizeOf((await note())!);
      expect(proof).toMatchObject({ to: now.size, toRoot: now.root });
      verifyExtends(
        older.size,
        now.size,
        proof.proof.map((h) => hashFromHex(h)),
        hashFromHex(older.root),
        hashFromHex(now.root),
      );
      const bad = await fetch(`${base}/checkpoint/consistency?from=${now.size + 1}`);
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain(`beyond the published checkpoint's size ${now.size}`);

      const core = cp.kubeConfig.makeApiClient(CoreV1Api);
      await waitFor(
        "the ConfigMap mirror",
        async () => {
          const cm = await core.readNamespacedConfigMap({
            name: "modelchain-checkpoint",
            namespace: "default",
          });
          return cm.data?.["checkpoint"] === (await note()) && cm.data?.["size"] === String(now.size);
        },
        30_000,
        d.output,
      );
      expect(d.output()).not.toContain("checkpoint not published");

      d.proc.kill("SIGTERM");
      expect(await d.exited).toBe(0);
      const ledger = await FileLedger.open(`${state.dir}/ledger`, { readOnly: true });
      const size = await ledger.size();
      await ledger.close();
      expect(publishedSizes(`${state.dir}/ledger`).at(-1)).toBe(size);
    },
  );
});
