// What `modelchain webhook` writes for people and for tools: --print-config with --ca-bundle as
// plain YAML (no anchors or aliases), and log lines rendered by pino-pretty when stderr is a
// terminal (a real pty, through util-linux's script(1)), JSON when it is not.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { parse, parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const noOpenssl = !hasOpenssl();
const noScript = spawnSync("script", ["--version"]).status !== 0;
if (noOpenssl)
  console.log("skipping the webhook log tests: the openssl CLI is not installed (test certificates)");
if (noScript)
  console.log("skipping the terminal log test: util-linux script(1) is not installed (it gives the pty)");

describe("modelchain webhook --print-config", () => {
  it.skipIf(noOpenssl)(
    "writes --ca-bundle into every caBundle and prints YAML without anchors or aliases",
    () => {
      const tls = certDir();
      const run = runCli([
        "webhook",
        "--print-config",
        "--url",
        "https://127.0.0.1:9443/validate",
        "--ca-bundle",
        tls.certFile,
      ]);
      expect(run.status, run.stderr).toBe(0);
      const doc = parseDocument(run.stdout);
      expect(doc.errors).toEqual([]);
      expect(run.stdout).not.toMatch(/[&*]a\d+\b/);
      const config = parse(run.stdout) as {
        webhooks: Array<{ clientConfig: { caBundle: string; url: string } }>;
      };
      const pem = readFileSync(tls.certFile, "utf8");
      expect(config.webhooks).toHaveLength(4);
      for (const w of config.webhooks) {
        expect(Buffer.from(w.clientConfig.caBundle, "base64").toString("utf8")).toBe(pem);
        expect(w.clientConfig.url).toBe("https://127.0.0.1:9443/validate");
      }
    },
  );

  it("refuses a --ca-bundle that is missing or holds no PEM certificate, naming the flag", () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-ca-bundle-"));
    writeFileSync(join(dir, "not-pem"), "hello\n");
    const missing = runCli(["webhook", "--print-config", "--ca-bundle", join(dir, "nope.pem")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--ca-bundle .*nope\.pem: ENOENT/);
    const garbage = runCli(["webhook", "--print-config", "--ca-bundle", join(dir, "not-pem")]);
    expect(garbage.status).toBe(2);
    expect(garbage.stderr).toMatch(/--ca-bundle .*not-pem: no PEM certificate/);
    expect(garbage.stdout).toBe("");
  });

  it("refuses --kubeconfig naming no file and --context naming no context, in one line", () => {
    const nofile = runCli([
      "webhook",
      "--tls-cert",
      "c",
      "--tls-key",
      "k",
      "--kubeconfig",
      "/no/such/kubeconfig",
    ]);
    expect(nofile.status).toBe(2);
    expect(nofile.stderr).toBe("modelchain: no kubeconfig: /no/such/kubeconfig does not exist\n");
    const dir = mkdtempSync(join(tmpdir(), "mc-kubeconfig-"));
    const kubeconfig = join(dir, "config");
    writeFileSync(
      kubeconfig,
      "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\ncurrent-context: a\n",
    );
    const nocontext = runCli([
      "webhook",
      "--tls-cert",
      "c",
      "--tls-key",
      "k",
      "--kubeconfig",
      kubeconfig,
      "--context",
      "b",
    ]);
    expect(nocontext.status).toBe(2);
    expect(nocontext.stderr).toBe('modelchain: kubeconfig has no context "b"\n');
  });
});

/** Runs the webhook on --source dir:samples until it logs where it listens; returns what it wrote. */
function firstLines(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MODELCHAIN_LOG_FORMAT: "" },
    });
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`no listening line: ${out}`));
    }, 30_000);
    const take = (c: Buffer) => {
      out += c.toString();
      if (/listening on/.test(out)) {
        clearTimeout(timer);
        proc.kill("SIGTERM");
        proc.once("close", () => resolve(out));
      }
    };
    proc.stdout.on("data", take);
    proc.stderr.on("data", take);
  });
}

describe("modelchain webhook logs", () => {
  const serve = (tls: { certFile: string; keyFile: string }) => [
    bin,
    "webhook",
    "--source",
    `dir:${SAMPLES}`,
    "--tls-cert",
    tls.certFile,
    "--tls-key",
    tls.keyFile,
    "--port",
    "0",
  ];

  it.skipIf(noOpenssl || noScript)("reads as lines a person follows on a terminal", async () => {
    const tls = certDir();
    const command = [process.execPath, ...serve(tls)].map((a) => `'${a}'`).join(" ");
    const colored = await firstLines("script", ["-qefc", command, "/dev/null"]);
    // Coloured for the terminal: the level, the message and the fields each in their own colour.
    const escape = String.fromCharCode(0x1b);
    expect(colored).toMatch(new RegExp(`${escape}\\[3\\dm`));
    const out = colored.replace(new RegExp(`${escape}\\[[0-9;]*m`, "g"), "");
    expect(out).toMatch(
      /\d\d:\d\d:\d\d\.\d{3}\] INFO: webhook listening on https:\/\/127\.0\.0\.1:\d+ \{"kind":"webhook"/,
    );
    expect(out).not.toContain('{"level"');
  });

  it.skipIf(noOpenssl)("is one JSON object per line anywhere else", async () => {
    const tls = certDir();
    const out = await firstLines(process.execPath, serve(tls));
    const line = out.split("\n").find((l) => l.includes("listening on")) ?? "";
    expect(JSON.parse(line)).toMatchObject({
      level: 30,
      kind: "webhook",
      msg: expect.stringMatching(/^webhook listening on https:\/\/127\.0\.0\.1:\d+$/),
    });
  });
});
