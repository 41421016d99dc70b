// `modelchain webhook` as a process: serves the samples over HTTPS, logs one line per denial,
// and exits 0 on SIGTERM.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileOutbox } from "../../src/ledger/index.ts";
import { readManifestFile } from "../../src/webhook/source-dir.ts";
import { runCli } from "../cli/run-cli.ts";
import { post } from "./https-client.ts";
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
        "--source",
        `dir:${SAMPLES}`,
        "--outbox",
        outbox,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    const port = await new Promise<number>((resolve, reject) => {
      proc.stderr.on("data", (d: Buffer) => {
        log += d.toString();
        const m = /"port":(\d+)/.exec(log);
        if (m?.[1] !== undefined) resolve(Number(m[1]));
      });
      proc.on("exit", (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    const admitted = JSON.parse((await post(port, review("ok", "deployment.yaml"))).text).response;
    expect(admitted).toEqual({ uid: "ok", allowed: true });
    const denied = JSON.parse((await post(port, review("no", "bad/unpinned-image.yaml"))).text).response;
    expect(denied.allowed).toBe(false);
    const exit = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await exit).toBe(0);
    expect(log).toContain('"msg":"admission denied"');
    expect(log).toContain('"reason":"image-not-pinned"');
    // The denial waits, durably, in the outbox for a ledger writer to drain it.
    const pending = FileOutbox.open(outbox);
    expect(pending.depth()).toBe(1);
    await pending.close();
    expect(readFileSync(join(outbox, "outbox.log"), "utf8")).toContain('"kind":"AdmissionDenied"');
  });
});
