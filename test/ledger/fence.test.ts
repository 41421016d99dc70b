// Fencing on real files: a writer writes a segment only while its lock generation is in place
// and the segment ends where its own last write ended; otherwise it writes nothing and says why.
import { appendFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileLedger, LedgerAppendFailed, LedgerLockLost } from "../../src/ledger/file/index.ts";
import { entries, tempDir } from "./fixtures.ts";

describe("fenced segment writes", () => {
  const made: Array<() => void> = [];
  afterEach(() => {
    for (const remove of made.splice(0)) remove();
  });
  async function writer(): Promise<{ dir: string; ledger: FileLedger; segment: string }> {
    const { dir, remove } = tempDir("modelchain-fence-");
    made.push(remove);
    const ledger = await FileLedger.open(dir, { warn: () => undefined });
    await ledger.append(entries(0, 3));
    const segment = join(dir, "segments", readdirSync(join(dir, "segments"))[0] ?? "");
    return { dir, ledger, segment };
  }

  it("refuses to append to a segment that grew behind the writer's back, and writes nothing", async () => {
    const { ledger, segment } = await writer();
    appendFileSync(segment, Buffer.from("bytes of a process that ignores the lock"));
    const size = statSync(segment).size;
    const failure = await ledger.append(entries(3, 1)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LedgerAppendFailed);
    expect((failure as Error).cause).toBeInstanceOf(LedgerAppendFailed);
    expect(String((failure as Error).cause)).toMatch(
      new RegExp(`${segment} is ${size} bytes before this write, this writer expected ${size - 40}`),
    );
    expect(statSync(segment).size).toBe(size);
    expect(await ledger.size()).toBe(3);
    await ledger.close();
  });

  it("writes nothing, checkpoints included, once another writer has taken the lock over", async () => {
    const { dir, ledger, segment } = await writer();
    const size = statSync(segment).size;
    // What a writer on another host does when it takes over: its generation, then the older ones gone.
    writeFileSync(
      join(dir, "lock", "0000000000000002"),
      JSON.stringify({ generation: 2, pid: 99, host: `not-${hostname()}`, since: "2026-11-25T00:00:00Z" }),
    );
    rmSync(join(dir, "lock", "0000000000000001"));
    await expect(ledger.append(entries(3, 1))).rejects.toThrow(LedgerLockLost);
    await expect(ledger.append(entries(4, 1))).rejects.toThrow(
      new RegExp(`lost the write lock, now held by pid 99 on not-${hostname()} \\(generation 2`),
    );
    await expect(ledger.checkpoint()).rejects.toThrow(LedgerLockLost);
    expect(statSync(segment).size).toBe(size);
    await ledger.close();
    expect(readdirSync(join(dir, "lock"))).toEqual(["0000000000000002"]);
  });
});
