import { describe, expect, it } from "vitest";
import {
  Backoff,
  BackoffInputError,
  backoffCeiling,
  backoffDelay,
  type BackoffPolicy,
} from "../../src/backoff/index.ts";

const policy: BackoffPolicy = { baseMs: 100, maxMs: 1_000 };
/** The lowest draw (0) gives the ceiling, the highest (just under 1) the jittered floor. */
const LOWEST = () => 0;
const HIGHEST = () => 1 - Number.EPSILON;

describe("backoff ceiling", () => {
  it.each([
    { attempt: 0, ceiling: 100 },
    { attempt: 1, ceiling: 200 },
    { attempt: 2, ceiling: 400 },
    { attempt: 3, ceiling: 800 },
    { attempt: 4, ceiling: 1_000 },
    { attempt: 5, ceiling: 1_000 },
    { attempt: 2_000, ceiling: 1_000 },
  ])("attempt $attempt may wait at most $ceiling ms", ({ attempt, ceiling }) => {
    expect(backoffCeiling(policy, attempt)).toBe(ceiling);
  });

  it("grows with another factor, and never decreases from one attempt to the next", () => {
    const triple = { baseMs: 10, maxMs: 5_000, factor: 3 };
    expect([0, 1, 2, 3].map((a) => backoffCeiling(triple, a))).toEqual([10, 30, 90, 270]);
    for (const p of [policy, triple, { baseMs: 7, maxMs: 7 }, { baseMs: 1, maxMs: 60_000, factor: 1.5 }]) {
      const ceilings = Array.from({ length: 64 }, (_, a) => backoffCeiling(p, a));
      for (let a = 1; a < ceilings.length; a++)
        expect(ceilings[a]).toBeGreaterThanOrEqual(ceilings[a - 1] ?? 0);
      expect(Math.max(...ceilings)).toBe(p.maxMs);
    }
  });
});

describe("backoff delay", () => {
  it.each([
    { name: "default jitter ½, lowest draw", p: policy, attempt: 2, random: LOWEST, delay: 400 },
    { name: "default jitter ½, highest draw", p: policy, attempt: 2, random: HIGHEST, delay: 200 },
    { name: "default jitter ½, middle draw", p: policy, attempt: 2, random: () => 0.5, delay: 300 },
    { name: "no jitter", p: { ...policy, jitter: 0 }, attempt: 3, random: HIGHEST, delay: 800 },
    { name: "full jitter, highest draw", p: { ...policy, jitter: 1 }, attempt: 3, random: HIGHEST, delay: 0 },
    { name: "capped, lowest draw", p: policy, attempt: 9, random: LOWEST, delay: 1_000 },
    { name: "capped, highest draw", p: policy, attempt: 9, random: HIGHEST, delay: 500 },
  ])("$name: attempt $attempt waits $delay ms", ({ p, attempt, random, delay }) => {
    expect(backoffDelay(p, attempt, random)).toBe(delay);
  });

  it("stays within [(1 − jitter)·ceiling, ceiling] for any draw, and never above the cap", () => {
    let seed = 42;
    // A small linear congruential generator: reproducible draws across [0, 1).
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (const jitter of [0, 0.1, 0.5, 1]) {
      const p = { ...policy, jitter };
      for (let attempt = 0; attempt < 12; attempt++) {
        const ceiling = backoffCeiling(p, attempt);
        for (let i = 0; i < 50; i++) {
          const delay = backoffDelay(p, attempt, random);
          expect(delay).toBeLessThanOrEqual(ceiling);
          expect(delay).toBeGreaterThanOrEqual(Math.floor((1 - jitter) * ceiling));
          expect(delay).toBeLessThanOrEqual(p.maxMs);
          expect(Number.isInteger(delay)).toBe(true);
        }
      }
    }
  });

  it.each([
    { field: "baseMs", p: { baseMs: 0, maxMs: 10 }, attempt: 0, random: LOWEST },
    { field: "baseMs", p: { baseMs: 1.5, maxMs: 10 }, attempt: 0, random: LOWEST },
    { field: "maxMs", p: { baseMs: 100, maxMs: 50 }, attempt: 0, random: LOWEST },
    { field: "maxMs", p: { baseMs: 100, maxMs: Infinity }, attempt: 0, random: LOWEST },
    { field: "factor", p: { baseMs: 1, maxMs: 10, factor: 0.5 }, attempt: 0, random: LOWEST },
    { field: "jitter", p: { baseMs: 1, maxMs: 10, jitter: 1.5 }, attempt: 0, random: LOWEST },
    { field: "jitter", p: { baseMs: 1, maxMs: 10, jitter: Number.NaN }, attempt: 0, random: LOWEST },
    { field: "attempt", p: policy, attempt: -1, random: LOWEST },
    { field: "attempt", p: policy, attempt: 0.5, random: LOWEST },
    { field: "random()", p: policy, attempt: 0, random: () => 1 },
    { field: "random()", p: policy, attempt: 0, random: () => -0.1 },
  ])("refuses a bad $field, naming it and the value", ({ field, p, attempt, random }) => {
    let caught: unknown;
    try {
      backoffDelay(p, attempt, random);
    } catch (e: unknown) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BackoffInputError);
    expect(caught).toMatchObject({ field, message: expect.stringMatching(/^backoff: .+, got /) });
  });
});

describe("a failure counter", () => {
  it("hands out growing delays, capped, and starts over after a reset", () => {
    const b = new Backoff({ baseMs: 10, maxMs: 50, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([10, 20, 40, 50, 50]);
    b.reset();
    expect(b.next()).toBe(10);
  });

  it("draws its jitter from the source it is given", () => {
    const draws = [0, 0.5, 0.999];
    const b = new Backoff({ baseMs: 100, maxMs: 1_000 }, () => draws.shift() ?? 0);
    expect([b.next(), b.next(), b.next()]).toEqual([100, 150, 200]);
  });

  it("refuses a bad policy when it is made, not at the first failure", () => {
    expect(() => new Backoff({ baseMs: 10, maxMs: 5 })).toThrow(BackoffInputError);
  });
});
