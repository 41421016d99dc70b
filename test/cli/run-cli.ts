import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs `modelchain ARGS` as a user would (a child process on the same Node), with optional stdin. */
export function runCli(args: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}): CliRun {
  const result = spawnSync(process.execPath, [bin, ...args], { input, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return {
    status: result.status ?? -1,
    stdout: result.stdout.toString("utf8"),
    stderr: result.stderr.toString("utf8"),
    stdoutBytes: result.stdout,
  };
}
