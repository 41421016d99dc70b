// A real MLflow tracking server for the import suite: `mlflow server` from the cached venv
// (test/pytools/requirements-mlflow.txt) on a free loopback port, a SQLite backend, the
// artifact proxy over a local folder, and MLflow's basic-auth app with an admin user.
import { execFileSync, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, startProcess, stopProcess, waitFor } from "../envtest/processes.ts";
import { pythonTool } from "../pytools/tools.ts";

/** MLflow 3 reports usage to its makers unless told not to; the tests send nothing off this machine. */
const NO_TELEMETRY = { MLFLOW_DISABLE_TELEMETRY: "true", DO_NOT_TRACK: "true" };

export interface MlflowServer {
  url: string;
  /** The folder behind mlflow-artifacts:/ (the server's --artifacts-destination). */
  artifactRoot: string;
  /** MLFLOW_TRACKING_USERNAME / _PASSWORD of the admin user. */
  credentials: Record<string, string>;
  log: () => string;
  stop: () => Promise<void>;
}

function venvBin(exe: string): string {
  const found = pythonTool("mlflow", exe);
  if ("missing" in found) throw new Error(found.missing);
  return found.bin;
}

export async function startMlflowServer(work: string): Promise<MlflowServer> {
  const port = await freePort();
  const artifactRoot = join(work, "artifacts");
  mkdirSync(artifactRoot, { recursive: true });
  const authConfig = join(work, "basic_auth.ini");
  writeFileSync(
    authConfig,
    [
      "[mlflow]",
      "default_permission = READ",
      `database_uri = sqlite:///${join(work, "auth.db")}`,
      "admin_username = admin",
      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth",
      // One PBKDF2 check per minute instead of one per request (each import makes dozens).
      "auth_cache_ttl_seconds = 60",
      "",
    ].join("\n"),
  );
  const password = "modelchain-test-password";
  const logFile = join(work, "mlflow-server.log");
  const env = {
    ...process.env,
    ...NO_TELEMETRY,
    // The job runner (GenAI scorers) needs packages the REST API does not.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    MLFLOW_AUTH_CONFIG_PATH: authConfig,
    MLFLOW_AUTH_ADMIN_PASSWORD: password,
    MLFLOW_FLASK_SERVER_SECRET_KEY: "modelchain-test-csrf-key",
  };
  const args = ["server", "--app-name", "basic-auth", "--workers", "1", "--host", "127.0.0.1"];
  args.push("--port", String(port), "--backend-store-uri", `sqlite:///${join(work, "mlflow.db")}`);
  args.push("--artifacts-destination", artifactRoot);
  const child: ChildProcess = startProcess(venvBin("mlflow"), args, logFile, env);
  const url = `http://127.0.0.1:${port}`;
  const log = (): string => readFileSync(logFile, "utf8").slice(-4000);
  try {
    await waitFor(
      "mlflow server",
      async () => {
        if (child.exitCode !== null) throw new Error(`mlflow server exited ${child.exitCode}`);
        return (await fetch(`${url}/health`)).ok;
      },
      240_000,
      log,
    );
  } catch (e: unknown) {
    await stopProcess(child);
    throw e;
  }
  return {
    url,
    artifactRoot,
    credentials: { MLFLOW_TRACKING_USERNAME: "admin", MLFLOW_TRACKING_PASSWORD: password },
    log,
    stop: () => stopProcess(child),
  };
}

/** Runs a Python script of this folder with the venv's python: JSON on stdin, JSON written to argv[1]. */
export function runPython(
  script: string,
  input: unknown,
  env: Record<string, string>,
  work: string,
): unknown {
  const result = join(work, `${script}.out.json`);
  // Run from outside this git checkout: MLflow tags a run with the commit and remote of the
  // repository its script is in, which the tests set themselves where they want them.
  const copy = join(work, script);
  copyFileSync(join(import.meta.dirname, script), copy);
  execFileSync(venvBin("python"), [copy, result], {
    cwd: work,
    input: JSON.stringify(input),
    env: { ...process.env, ...NO_TELEMETRY, ...env },
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
  return JSON.parse(readFileSync(result, "utf8")) as unknown;
}
