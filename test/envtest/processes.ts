import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { openSync } from "node:fs";

/** A free loopback port (the kernel picks one; it stays free long enough for a test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Starts a binary in its own process group, logging to a file; stopped by its own pid. */
export function startProcess(
  binary: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const log = openSync(logFile, "a");
  const child = spawn(binary, args, { detached: true, stdio: ["ignore", log, log], env });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `probe` until it resolves true, or fails with the last error after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  onFail?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (e: unknown) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const detail = last instanceof Error ? last.message : String(last ?? "not ready");
  throw new Error(`${what} not ready after ${timeoutMs} ms: ${detail}${onFail ? `\n${onFail()}` : ""}`);
}
