// `modelchain webhook` as a process: serves the samples over HTTPS, logs one line per denial,
// and exits 0 on SIGTERM.
import { spawn, type ChildProcess } from "node:child_process";
import { connect as connectTcp } from "node:net";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileOutbox } from "../../src/ledger/index.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { runCli } from "../cli/run-cli.ts";
import { post, rawExchange } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping modelchain webhook process test: the openssl CLI is not installed (needed for test certificates)",
  );

const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const SAMPLES = join(import.meta.dirname, "..", "..", "samples");

function review(uid: string, file: string): string {
  const md = readManifestFile(join(SAMPLES, file)).find(
    (m) => m.object["kind"] === "ModelDeployment",
  )?.object;
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
      operation: "CREATE",
      namespace: "ml",
      name: "x",
      object: md,
    },
  });
}

/** `modelchain webhook` on a free port of 127.0.0.1; resolves once it logs the port. */
async function startWebhookProcess(
  tls: { certFile: string; keyFile: string },
  args: string[],
): Promise<{ proc: ChildProcess; port: number; log(): string }> {
  const proc = spawn(
    process.execPath,
    [
      bin,
      "webhook",
      "--tls-cert",
      tls.certFile,
      "--tls-key",
      tls.keyFile,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      ...args,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  const port = await new Promise<number>((resolve, reject) => {
    proc.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
      const m = /"port":(\d+)/.exec(log);
      if (m?.[1] !== undefined) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`exited ${code}: ${log}`)));
  });
  return { proc, port, log: () => log };
}

/** Whether the server closes a TCP connection that never starts TLS within `waitMs`. */
function closedBeforeHandshake(port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, waitMs);
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("modelchain webhook", () => {
  it("prints the ValidatingWebhookConfiguration with the chosen failure policy", () => {
    const run = runCli([
      "webhook",
      "--print-config",
      "--failure-policy",
      "Ignore",
      "--url",
      "https://127.0.0.1:9443/validate",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("failurePolicy: Ignore");
    expect(run.stdout).toContain("url: https://127.0.0.1:9443/validate");
  });

  it("exits 2 without a certificate or with a bad --source", () => {
    expect(runCli(["webhook", "--source", "dir:samples"]).status).toBe(2);
    expect(runCli(["webhook", "--tls-cert", "c", "--tls-key", "k", "--source", "nope"]).status).toBe(2);
  });

  it.skipIf(noOpenssl)("serves --source dir:samples over HTTPS and stops cleanly on SIGTERM", async () => {
    const tls = certDir();
    const outbox = join(mkdtempSync(join(tmpdir(), "mc-webhook-outbox-")), "outbox");
    const { proc, port, log } = await startWebhookProcess(tls, [
      "--source",
      `dir:${SAMPLES}`,
      "--outbox",
      outbox,
    ]);
    const admitted = JSON.parse((await post(port, review("ok", "deployment.yaml"))).text).response;
    expect(admitted).toEqual({ uid: "ok", allowed: true });
    const denied = JSON.parse((await post(port, review("no", "bad/unpinned-image.yaml"))).text).response;
    expect(denied.allowed).toBe(false);
    const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(log()).toContain('"msg":"admission denied"');
    expect(log()).toContain('"reason":"image-not-pinned"');
    // The admitted change and the denial wait, durably, in the outbox for a ledger writer to drain them.
    const pending = FileOutbox.open(outbox);
    expect(pending.depth()).toBe(2);
    await pending.close();
    const queued = readFileSync(join(outbox, "outbox.log"), "utf8");
    expect(queued).toContain('"kind":"ChangeAdmitted"');
    expect(queued).toContain('"kind":"AdmissionDenied"');
  });

  it.skipIf(noOpenssl)(
    "serves /metrics with --metrics-port, counting its admission decisions (what the chart's ServiceMonitor scrapes)",
    async () => {
      const tls = certDir();
      const { proc, port, log } = await startWebhookProcess(tls, [
        "--source",
        `dir:${SAMPLES}`,
        "--metrics-port",
        "0",
      ]);
      try {
        let url: string | undefined;
        for (let i = 0; i < 100 && url === undefined; i++) {
          url = /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(log())?.[1];
          if (url === undefined) await new Promise((r) => setTimeout(r, 50));
        }
        expect(url, log()).toBeDefined();
        await post(port, review("no", "bad/unpinned-image.yaml"));
        const body = await (await fetch(url ?? "")).text();
        expect(body).toMatch(
          /^modelchain_admission_reviews_total\{decision="denied",reason="image-not-pinned"[^}]*\} 1$/m,
        );
        expect(body).toContain("modelchain_admission_duration_seconds_bucket");
        expect(body).toContain("modelchain_process_resident_memory_bytes");
      } finally {
        proc.kill("SIGTERM");
      }
    },
  );

  it("exits 2 naming the flag when --in-flight-body-bytes cannot hold one review", () => {
    const run = runCli(["webhook", "--tls-cert", "c", "--tls-key", "k", "--in-flight-body-bytes", "1000"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--in-flight-body-bytes: 1000 is below 3145728");
  });

  it.skipIf(noOpenssl)("applies --tls-handshake-timeout-ms and --in-flight-body-bytes", async () => {
    const tls = certDir();
    const { proc, port } = await startWebhookProcess(tls, [
      "--source",
      `dir:${SAMPLES}`,
      "--tls-handshake-timeout-ms",
      "300",
      "--in-flight-body-bytes",
      String(3 * 1024 * 1024),
    ]);
    try {
      // Well before the 5 s default (and Node's own 120 s).
      expect(await closedBeforeHandshake(port, 3_000)).toBe(true);
      const head = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";
      const held = rawExchange(port, `${head}content-length: 3000000\r\n\r\n{`, { waitMs: 2_000 });
      await new Promise((r) => setTimeout(r, 300));
      const second = await rawExchange(port, `${head}content-length: 3000000\r\n\r\n`);
      expect(second.text).toMatch(/^HTTP\/1\.1 429 /);
      expect(second.text).toContain("3145728-byte budget");
      await held;
    } finally {
      proc.kill("SIGTERM");
    }
  });
});
