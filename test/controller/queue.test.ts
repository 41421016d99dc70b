import { describe, expect, it } from "vitest";
import pino from "pino";
import { Controller, TerminalError, WorkQueue, type Reconciler } from "../../src/controller/index.ts";

describe("work queue", () => {
  it("queues a key once however often it is added while waiting", async () => {
    const q = new WorkQueue("test");
    q.add("a/1");
    q.add("a/1");
    q.add("a/2");
    expect(q.depth).toBe(2);
    expect(await q.next()).toBe("a/1");
    expect(await q.next()).toBe("a/2");
  });

  it("never hands a key in progress to a second worker, and runs it again if it was added meanwhile", async () => {
    const q = new WorkQueue("test");
    q.add("k");
    expect(await q.next()).toBe("k");
    q.add("k");
    expect(q.depth).toBe(0);
    q.finished("k");
    expect(q.depth).toBe(1);
  });

  it("backs off exponentially per key and forgets on success", () => {
    const q = new WorkQueue("test", { baseMs: 100, maxMs: 1000 });
    expect([
      q.addRateLimited("k"),
      q.addRateLimited("k"),
      q.addRateLimited("k"),
      q.addRateLimited("k"),
      q.addRateLimited("k"),
    ]).toEqual([100, 200, 400, 800, 1000]);
    q.forget("k");
    expect(q.addRateLimited("k")).toBe(100);
    expect(q.addRateLimited("other")).toBe(100);
    q.shutdown();
  });

  it("returns undefined to waiting workers on shutdown", async () => {
    const q = new WorkQueue("test");
    const waiting = q.next();
    q.shutdown();
    expect(await waiting).toBeUndefined();
  });
});

describe("controller error policy", () => {
  it("retries a failing key with backoff, stops retrying a terminal error, and finishes in-flight work on stop", async () => {
    const calls: string[] = [];
    let failures = 2;
    const reconciler: Reconciler = {
      name: "test",
      async reconcile(key) {
        calls.push(key);
        if (key === "ns/flaky" && failures-- > 0) throw new Error("transient");
        if (key === "ns/broken") throw new TerminalError("invalid object");
        return {};
      },
    };
    const controller = new Controller(reconciler, pino({ level: "silent" }), { baseMs: 5, maxMs: 20 });
    controller.start(2);
    controller.queue.add("ns/flaky");
    controller.queue.add("ns/broken");
    await new Promise((r) => setTimeout(r, 200));
    await controller.stop();
    expect(calls.filter((k) => k === "ns/flaky")).toHaveLength(3);
    expect(calls.filter((k) => k === "ns/broken")).toHaveLength(1);
  });
});
