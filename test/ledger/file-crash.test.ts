import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { auditFileLedger, FileLedger } from "../../src/ledger/file/index.ts";
import { tempDir } from "./fixtures.ts";

const child = fileURLToPath(new URL("./crash-child.ts", import.meta.url));
const { dir, remove } = tempDir("modelchain-crash-");
afterAll(() => remove());

/** Runs the appending child, kills it with SIGKILL after `delayMs` of appending, returns the acknowledged keys. */
function appendUntilKilled(run: number, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, String(run)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stderr = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith("READY\n") && !proc.killed) setTimeout(() => proc.kill("SIGKILL"), delayMs).unref();
    });
    proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    proc.on("error", reject);
    proc.on("exit", (code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`child exited ${code}: ${stderr}`));
      const acked = out
        .split("\n")
        .filter((l) => l.startsWith("ACK "))
        .flatMap((l) => l.split(" ").slice(2));
      resolve(acked);
    });
  });
}

describe("crash safety", () => {
  it("keeps every acknowledged entry when the writer is killed mid-append, over many runs", async () => {
    const acknowledged: string[] = [];
    const runs = 12;
    for (let run = 0; run < runs; run++) {
      acknowledged.push(...(await appendUntilKilled(run, 5 + ((run * 37) % 120))));
      const ledger = await FileLedger.open(dir, { warn: () => {} });
      for (const key of acknowledged) {
        expect(await ledger.lookup(key), `acknowledged key ${key} lost after run ${run}`).toBeDefined();
      }
      await ledger.close();
      const audit = await auditFileLedger(dir);
      expect(audit.problem, `audit after run ${run}`).toBeUndefined();
    }
    expect(acknowledged.length).toBeGreaterThan(runs);
    const ledger = await FileLedger.open(dir, { readOnly: true });
    expect(await ledger.size()).toBeGreaterThanOrEqual(acknowledged.length);
    await ledger.close();
  }, 120_000);
});
