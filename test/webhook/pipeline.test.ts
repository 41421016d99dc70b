import { describe, expect, it } from "vitest";
import { MemoryLedger, type Outbox } from "../../src/ledger/index.ts";
import { VerifiedCache } from "../../src/webhook/cache.ts";
import { DenialRecorder, type DenialRecordFailed } from "../../src/webhook/denials.ts";
import { SingleFlight, withDeadline } from "../../src/webhook/lookup.ts";
import { createReviewer } from "../../src/webhook/reviewer.ts";
import { modelDeployment, request } from "./fixtures.ts";
import { outboxOver, vocabulary } from "./vocabulary.ts";

describe("bounded, single-flight lookups", () => {
  it("concurrent misses for one key share one call", async () => {
    const flights = new SingleFlight<number>();
    let calls = 0;
    const load = () => new Promise<number>((r) => setTimeout(() => r(++calls), 20));
    const results = await Promise.all(Array.from({ length: 50 }, () => flights.do("k", load)));
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set([1]));
    expect(flights.size).toBe(0);
  });

  it("a lookup slower than its deadline fails with the key in the message", async () => {
    const never = new Promise<never>(() => undefined);
    await expect(withDeadline("ModelVersion ml/x", never, 20)).rejects.toThrow(
      /ModelVersion ml\/x did not answer within 20 ms/,
    );
  });
});

describe("review pipeline over the verified cache", () => {
  function setup() {
    const vocab = vocabulary();
    const cache = new VerifiedCache(vocab);
    cache.putPolicy({});
    cache.putNamespace("ml", {});
    cache.markSynced();
    return { vocab, cache };
  }

  it("memoises verdicts on a warm cache and forgets them when anything changes", async () => {
    const { vocab, cache } = setup();
    cache.putModelVersion({ namespace: "ml", name: "child" });
    const review = createReviewer({ cache });
    for (let i = 0; i < 5; i++)
      expect((await review(request("ModelDeployment", modelDeployment("child")))).allowed).toBe(true);
    expect(vocab.verifications).toBe(1);
    cache.putModelVersion({ namespace: "ml", name: "other" });
    await review(request("ModelDeployment", modelDeployment("child")));
    expect(vocab.verifications).toBe(2);
  });

  it("a miss is looked up once for concurrent reviews and then admitted", async () => {
    const { cache } = setup();
    let gets = 0;
    const lookup = {
      modelVersion: async (namespace: string, name: string) => {
        gets++;
        await new Promise((r) => setTimeout(r, 20));
        return { namespace, name };
      },
      namespaceLabels: async () => ({}),
    };
    const review = createReviewer({ cache, lookup });
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => review(request("ModelDeployment", modelDeployment("fresh")))),
    );
    expect(gets).toBe(1);
    expect(decisions.every((d) => d.allowed)).toBe(true);
  });

  it("a lookup past its deadline denies with lookup-failed instead of hanging", async () => {
    const { cache } = setup();
    const lookup = {
      modelVersion: () => new Promise<never>(() => undefined),
      namespaceLabels: async () => ({}),
    };
    const d = await createReviewer({ cache, lookup, lookupDeadlineMs: 30 })(
      request("ModelDeployment", modelDeployment("slow")),
    );
    expect(d).toMatchObject({ allowed: false, reason: "lookup-failed" });
    expect(d.message).toContain("ModelVersion ml/slow");
  });

  it("a missing ModelVersion that the lookup does not find is denied as missing", async () => {
    const { cache } = setup();
    const lookup = { modelVersion: async () => undefined, namespaceLabels: async () => ({}) };
    const d = await createReviewer({ cache, lookup })(request("ModelDeployment", modelDeployment("ghost")));
    expect(d).toMatchObject({ allowed: false, reason: "model-version-missing" });
  });
});

describe("AdmissionDenied entries", () => {
  function recorder(outbox: Outbox, errors: DenialRecordFailed[] = []) {
    return new DenialRecorder({
      outbox,
      cluster: "test",
      tip: () => ({ size: 3, root: "cd".repeat(32) }),
      onError: (e) => errors.push(e),
    });
  }
  const { cache } = (() => {
    const c = new VerifiedCache(vocabulary());
    c.putPolicy({});
    c.putNamespace("ml", {});
    c.putModelVersion({ namespace: "ml", name: "old", revoked: true });
    return { cache: c };
  })();

  it("records a denial with the ledger tip, off the response path", async () => {
    const ledger = new MemoryLedger();
    const outbox = outboxOver(ledger);
    const rec = recorder(outbox);
    const review = createReviewer({ cache, sink: rec });
    const d = await review(request("ModelDeployment", modelDeployment("old")));
    expect(d.allowed).toBe(false);
    expect(outbox.batches).toHaveLength(0); // not yet: the answer does not wait for the outbox
    await rec.settled();
    const stored = (await ledger.get(0)).envelope.entry;
    expect(stored).toMatchObject({
      kind: "AdmissionDenied",
      subject: { kind: "ModelDeployment", name: "x", namespace: "ml" },
    });
    expect(stored.data).toMatchObject({
      reason: "model-version-revoked",
      ledgerTip: { size: 3 },
      enforced: true,
      reviewUid: "u-1",
    });
  });

  it("records a retried review (same uid) once, and a new review again", async () => {
    const ledger = new MemoryLedger();
    const rec = recorder(outboxOver(ledger));
    const review = createReviewer({ cache, sink: rec });
    for (let i = 0; i < 3; i++) await review(request("ModelDeployment", modelDeployment("old")));
    await review(request("ModelDeployment", modelDeployment("old"), { uid: "u-2" }));
    await rec.settled();
    expect(await ledger.size()).toBe(2);
  });

  it("an outbox failure is reported, never thrown at the review, and the key may be retried", async () => {
    const ledger = new MemoryLedger();
    const errors: DenialRecordFailed[] = [];
    const failing: Outbox = {
      ...outboxOver(ledger),
      enqueue: async () => Promise.reject(new Error("disk full")),
    };
    const rec = recorder(failing, errors);
    const review = createReviewer({ cache, sink: rec });
    expect((await review(request("ModelDeployment", modelDeployment("old")))).allowed).toBe(false);
    await rec.settled();
    expect(errors.map((e) => e.message)).toEqual(["webhook: recording 1 AdmissionDenied entries failed"]);
    const retry = recorder(outboxOver(ledger));
    await createReviewer({ cache, sink: retry })(request("ModelDeployment", modelDeployment("old")));
    await new Promise((r) => setTimeout(r, 10));
    await retry.settled();
    expect(await ledger.size()).toBe(1);
  });

  it("an entry that cannot be built is reported after the answer, never thrown at the review", async () => {
    const ledger = new MemoryLedger();
    const errors: DenialRecordFailed[] = [];
    const rec = new DenialRecorder({
      outbox: outboxOver(ledger),
      cluster: "test",
      tip: () => undefined,
      onError: (e) => errors.push(e),
      clock: () => new Date(Number.NaN), // an entry's observedAt cannot be written from it
    });
    const d = await createReviewer({ cache, sink: rec })(request("ModelDeployment", modelDeployment("old")));
    expect(d).toMatchObject({ allowed: false, reason: "model-version-revoked" });
    expect(errors).toHaveLength(0); // not yet: the entries are built after the answer
    await rec.settled();
    expect(errors.map((e) => e.message)).toEqual([
      "webhook: recording 1 AdmissionDenied entries could not be built",
    ]);
    expect(String(errors[0]?.cause)).toMatch(/Invalid time value/);
    expect(await ledger.size()).toBe(0);
  });

  it("dry runs record nothing", async () => {
    const ledger = new MemoryLedger();
    const rec = recorder(outboxOver(ledger));
    await createReviewer({ cache, sink: rec })(
      request("ModelDeployment", modelDeployment("old"), { dryRun: true }),
    );
    await rec.settled();
    expect(await ledger.size()).toBe(0);
  });
});
