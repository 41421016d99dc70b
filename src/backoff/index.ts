// Retry delays, one formula for the whole operator: the work queue's per-key retries, the
// informers' restarts, the outbox's redelivery and the ic client's calls. It is a component of
// its own because the ledger may import only metrics and knows nothing of Kubernetes, while
// the controller and the webhook retry too; like api it is pure (no I/O, no imports), so any
// component may use it.

/**
 * Exponential backoff, capped, with jitter. Attempt n (0 for the first retry) has the ceiling
 * min(maxMs, baseMs·factorⁿ); the delay is drawn from [(1 − jitter)·ceiling, ceiling], so it
 * never exceeds the cap and still grows with the attempt. With the default jitter of ½ this is
 * "equal jitter": retries of many keys failing together spread over half of each step.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Growth per attempt; 2 unless given. */
  factor?: number;
  /** The fraction of the ceiling that is random, in [0, 1]; ½ unless given. */
  jitter?: number;
}

/** A random source as `Math.random`: a number in [0, 1). Injected by tests. */
export type RandomSource = () => number;

/** A policy, attempt or random draw outside its range; the message names which and its value. */
export class BackoffInputError extends Error {
  readonly field: string;
  constructor(field: string, problem: string, value: unknown) {
    super(`backoff: ${field} ${problem}, got ${String(value)}`);
    this.name = "BackoffInputError";
    this.field = field;
  }
}

/** The policy with its defaults filled in; throws BackoffInputError for a field out of range. */
export function checkBackoffPolicy(p: BackoffPolicy): Required<BackoffPolicy> {
  const factor = p.factor ?? 2;
  const jitter = p.jitter ?? 0.5;
  if (!Number.isSafeInteger(p.baseMs) || p.baseMs < 1)
    throw new BackoffInputError("baseMs", "must be a positive whole number of ms", p.baseMs);
  if (!Number.isSafeInteger(p.maxMs) || p.maxMs < p.baseMs)
    throw new BackoffInputError("maxMs", `must be a whole number of ms ≥ baseMs (${p.baseMs})`, p.maxMs);
  if (!Number.isFinite(factor) || factor < 1) throw new BackoffInputError("factor", "must be ≥ 1", factor);
  if (!(jitter >= 0 && jitter <= 1)) throw new BackoffInputError("jitter", "must lie in [0, 1]", jitter);
  return { baseMs: p.baseMs, maxMs: p.maxMs, factor, jitter };
}

/** The largest delay attempt `attempt` may wait: min(maxMs, baseMs·factor^attempt). */
export function backoffCeiling(policy: BackoffPolicy, attempt: number): number {
  const p = checkBackoffPolicy(policy);
  if (!Number.isSafeInteger(attempt) || attempt < 0)
    throw new BackoffInputError("attempt", "must be a whole number ≥ 0", attempt);
  // factor^attempt overflows to Infinity for large attempts, which the cap absorbs.
  return Math.min(p.maxMs, p.baseMs * p.factor ** attempt);
}

/** The delay before retry `attempt` (0 for the first), in whole ms. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: RandomSource = Math.random,
): number {
  const ceiling = backoffCeiling(policy, attempt);
  const draw = random();
  if (!(draw >= 0 && draw < 1))
    throw new BackoffInputError("random()", "must return a number in [0, 1)", draw);
  return Math.round(ceiling * (1 - (policy.jitter ?? 0.5) * draw));
}

/** Counts consecutive failures of one thing and hands out the delay before its next retry. */
export class Backoff {
  private failures = 0;
  private readonly policy: BackoffPolicy;
  private readonly random: RandomSource;

  constructor(policy: BackoffPolicy, random: RandomSource = Math.random) {
    checkBackoffPolicy(policy);
    this.policy = policy;
    this.random = random;
  }

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    return backoffDelay(this.policy, this.failures++, this.random);
  }

  /** After a success: the next failure waits the shortest delay again. */
  reset(): void {
    this.failures = 0;
  }
}
