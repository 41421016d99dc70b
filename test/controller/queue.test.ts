import { afterEach, describe, expect, it, vi } from "vitest";
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
    const q = new WorkQueue("test", { baseMs: 100, maxMs: 1000, jitter: 0 });
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

  it("jitters each retry below its ceiling, with the random source it is given", () => {
    const draws = [0.5, 0.5, 0.999];
    const q = new WorkQueue("test", { baseMs: 100, maxMs: 1000 }, () => draws.shift() ?? 0);
    expect([q.addRateLimited("k"), q.addRateLimited("k"), q.addRateLimited("k")]).toEqual([75, 150, 200]);
    q.shutdown();
  });

  it("refuses a backoff policy it could not follow when it is made", () => {
    expect(() => new WorkQueue("test", { baseMs: 0, maxMs: 10 })).toThrow(/backoff: baseMs/);
  });

  describe("addAfter keeps the earliest pending deadline, as client-go's delaying queue does", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** Advances the fake clock and returns the times (ms since start) at which `key` came back. */
    async function arrivals(q: WorkQueue, key: string, untilMs: number): Promise<number[]> {
      const seen: number[] = [];
      for (let t = 1; t <= untilMs; t++) {
        vi.advanceTimersByTime(1);
        if (q.depth > 0) {
          expect(await q.next()).toBe(key);
          q.finished(key);
          seen.push(t);
        }
      }
      return seen;
    }

    it("a 50 ms retry of a key already waiting 2 s brings it back at 50 ms, and only then", async () => {
      vi.useFakeTimers();
      const q = new WorkQueue("test");
      q.addAfter("ns/k", 2_000);
      q.addAfter("ns/k", 50);
      expect(await arrivals(q, "ns/k", 3_000)).toEqual([50]);
      q.shutdown();
    });

    it("a later, longer addAfter does not postpone an earlier deadline", async () => {
      vi.useFakeTimers();
      const q = new WorkQueue("test");
      q.addAfter("ns/k", 50);
      vi.advanceTimersByTime(10);
      q.addAfter("ns/k", 2_000);
      expect(await arrivals(q, "ns/k", 3_000)).toEqual([40]);
      q.shutdown();
    });

    it("a backoff retry is not held back by a pending requeueAfter of the same key", async () => {
      vi.useFakeTimers();
      const q = new WorkQueue("test", { baseMs: 20, maxMs: 1_000, jitter: 0 });
      q.addAfter("ns/k", 2_000);
      expect(q.addRateLimited("ns/k")).toBe(20);
      expect(await arrivals(q, "ns/k", 3_000)).toEqual([20]);
      q.shutdown();
    });

    it("deadlines of different keys are independent, and a key that came back can be scheduled again", async () => {
      vi.useFakeTimers();
      const q = new WorkQueue("test");
      q.addAfter("ns/a", 30);
      q.addAfter("ns/b", 10);
      vi.advanceTimersByTime(10);
      expect(await q.next()).toBe("ns/b");
      q.finished("ns/b");
      q.addAfter("ns/b", 5);
      vi.advanceTimersByTime(5);
      expect(await q.next()).toBe("ns/b");
      q.finished("ns/b");
      vi.advanceTimersByTime(15);
      expect(await q.next()).toBe("ns/a");
      q.shutdown();
    });

    it("a zero or negative delay adds the key at once", () => {
      vi.useFakeTimers();
      const q = new WorkQueue("test");
      q.addAfter("ns/k", 0);
      q.addAfter("ns/j", -5);
      expect(q.depth).toBe(2);
      q.shutdown();
    });
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
