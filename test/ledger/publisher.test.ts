// The writer's checkpoint schedule on a real file ledger, and the published checkpoint served
// over real HTTP (the metrics server's port), proofs included.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CheckpointPublisher,
  checkpointRoutes,
  FileLedger,
  hashFromHex,
  logVerifier,
  openCheckpointNote,
  originOf,
  verifyExtends,
  type Checkpoint,
} from "../../src/ledger/index.ts";
import { readIdentity } from "../../src/ledger/file/identity.ts";
import { createPublicKey } from "node:crypto";
import { startMetricsServer, type MetricsServer } from "../../src/metrics/index.ts";
import { entries, tempDir } from "./fixtures.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function ledger(): Promise<{ dir: string; ledger: FileLedger }> {
  const { dir, remove } = tempDir("modelchain-publisher-");
  const l = await FileLedger.open(dir);
  cleanups.push(remove, () => l.close());
  return { dir, ledger: l };
}

const until = async (what: string, ok: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

const history = (dir: string): string[] =>
  existsSync(join(dir, "checkpoints")) ? readdirSync(join(dir, "checkpoints")).sort() : [];

describe("the checkpoint publisher", () => {
  it("publishes at start, after every N entries, on the timer when entries came, and once more on stop", async () => {
    const { dir, ledger: l } = await ledger();
    let now = 0;
    const seen: number[] = [];
    const publisher = CheckpointPublisher.start(l, {
      everyEntries: 5,
      everySeconds: 60,
      pollMs: 20,
      clock: () => now,
      sinks: [{ name: "test", deliver: async (c) => void seen.push(c.size) }],
    });
    await until("the first checkpoint", () => seen.length === 1);
    await l.append(entries(0, 4));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([0]);
    await l.append(entries(4, 1));
    await until("a checkpoint after 5 entries", () => seen.length === 2);
    await l.append(entries(5, 2));
    now += 60_000;
    await until("a checkpoint on the timer", () => seen.length === 3);
    await l.append(entries(7, 1));
    await publisher.stop();
    expect(seen).toEqual([0, 5, 7, 8]);
    expect(history(dir)).toEqual([0, 5, 7, 8].map((n) => `${String(n).padStart(20, "0")}.note`));
    const identity = readIdentity(dir)!;
    const log = logVerifier(originOf(identity.keyId), createPublicKey(identity.publicKey));
    const latest = openCheckpointNote(readFileSync(join(dir, "checkpoint.note"), "utf8"), log);
    expect(latest.head).toEqual({ origin: originOf(identity.keyId), size: 8, root: await l.root() });
  });

  it("gives a sink that failed the latest checkpoint again at the next tick", async () => {
    const { ledger: l } = await ledger();
    let fail = true;
    const delivered: number[] = [];
    const errors: string[] = [];
    const publisher = CheckpointPublisher.start(l, {
      everyEntries: 1,
      everySeconds: 60,
      pollMs: 20,
      onError: (what, e) => errors.push(`${what}: ${(e as Error).message}`),
      sinks: [
        {
          name: "flaky",
          deliver: async (c: Checkpoint) => {
            if (fail) throw new Error(`unreachable at size ${c.size}`);
            delivered.push(c.size);
          },
        },
      ],
    });
    await until("a failed delivery", () => errors.length > 0);
    await l.append(entries(0, 2));
    await until("two failed deliveries", () => errors.some((e) => e.includes("size 2")));
    fail = false;
    await until("the delivery", () => delivered.length > 0);
    await publisher.stop();
    expect(delivered).toEqual([2]);
    expect(errors[0]).toBe("flaky: unreachable at size 0");
  });
});

describe("the published checkpoint over HTTP", () => {
  async function serve(): Promise<{ dir: string; ledger: FileLedger; base: string }> {
    const { dir, ledger: l } = await ledger();
    const server: MetricsServer = await startMetricsServer(
      0,
      "127.0.0.1",
      checkpointRoutes(dir, () => l),
    );
    cleanups.push(() => server.close());
    return { dir, ledger: l, base: server.url.replace(/\/metrics$/, "") };
  }

  it("serves the latest note as published, and a consistency proof to it from any earlier size", async () => {
    const { dir, ledger: l, base } = await serve();
    expect((await fetch(`${base}/checkpoint`)).status).toBe(404);
    await l.append(entries(0, 6));
    const old = await l.checkpoint();
    await l.append(entries(6, 5));
    const latest = await l.checkpoint();
    await l.append(entries(11, 3));
    const response = await fetch(`${base}/checkpoint`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe(readFileSync(join(dir, "checkpoint.note"), "utf8"));
    const proof = (await (await fetch(`${base}/checkpoint/consistency?from=6`)).json()) as {
      from: number;
      to: number;
      proof: string[];
    };
    // To the published size, not to the ledger's current one.
    expect(proof).toMatchObject({ from: 6, to: 11, fromRoot: old.root, toRoot: latest.root });
    expect(() =>
      verifyExtends(
        6,
        11,
        proof.proof.map((h) => hashFromHex(h)),
        hashFromHex(old.root),
        hashFromHex(latest.root),
      ),
    ).not.toThrow();
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it.each([
    ["", "from=<tree size> is required"],
    ["?from=abc", "from=abc is not a tree size (a non-negative decimal integer)"],
    ["?from=-1", "from=-1 is not a tree size (a non-negative decimal integer)"],
    ["?from=0", "from=0: every tree extends the empty tree, a proof from it means nothing"],
    ["?from=4", "from=4 is beyond the published checkpoint's size 3"],
  ])("answers 400 with the reason for consistency%s", async (query, reason) => {
    const { ledger: l, base } = await serve();
    await l.append(entries(0, 3));
    await l.checkpoint();
    const response = await fetch(`${base}/checkpoint/consistency${query}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toBe(`${reason}\n`);
  });
});
