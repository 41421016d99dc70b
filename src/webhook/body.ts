// Request bodies under two limits: one review's size (the API server's 3 MiB) and a budget of
// bytes buffered across every request in flight, so that many large concurrent reviews cannot
// grow the heap without bound.
import type { IncomingMessage } from "node:http";

/** A request the server refuses before a review exists: status, a reason, and extra headers. */
export class HttpRefusal extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, reason: string, headers: Record<string, string> = {}) {
    super(reason);
    this.name = "HttpRefusal";
    this.status = status;
    this.headers = headers;
  }
}

/** Bytes of request bodies buffered across all requests; each request gives its share back when answered. */
export class BodyBudget {
  readonly limit: number;
  #inUse = 0;
  constructor(limit: number) {
    this.limit = limit;
  }
  get inUse(): number {
    return this.#inUse;
  }
  /** Takes `bytes`, or nothing and false when they do not fit. */
  take(bytes: number): boolean {
    if (this.#inUse + bytes > this.limit) return false;
    this.#inUse += bytes;
    return true;
  }
  give(bytes: number): void {
    this.#inUse = Math.max(0, this.#inUse - bytes);
  }
}

/** How far a body got; the server's clientError handler reports it when the request breaks off. */
export interface BodyProgress {
  received: number;
  /** From Content-Length; undefined for a chunked body. */
  expected: number | undefined;
}

export function describeProgress(p: BodyProgress | undefined): string {
  if (p === undefined) return "";
  return p.expected === undefined
    ? ` (${p.received} bytes of a chunked body received)`
    : ` (${p.received} of ${p.expected} body bytes received)`;
}

const RETRY_AFTER_SECONDS = 1;

function overBudget(budget: BodyBudget, bytes: number): HttpRefusal {
  return new HttpRefusal(
    429,
    `busy: ${budget.inUse} bytes of request bodies are in flight and ${bytes} more would exceed the ` +
      `webhook's ${budget.limit}-byte budget; retry after ${RETRY_AFTER_SECONDS} s`,
    { "retry-after": String(RETRY_AFTER_SECONDS) },
  );
}

/** The declared length: checked against the per-review cap before any byte is read. */
export function declaredLength(req: IncomingMessage, max: number): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined) return undefined;
  const length = Number(header);
  if (length > max) throw new HttpRefusal(413, `body of ${length} bytes is over the ${max}-byte limit`);
  return length;
}

export interface BodyLimits {
  max: number;
  budget: BodyBudget;
  /** Updated as bytes arrive. */
  progress: BodyProgress;
  /** Called once the share taken from the budget may be given back (the response is done). */
  onSettled(release: () => void): void;
}

/** A declared body goes straight into one buffer of its length: no chunk list, no copy at the end. */
class BodyCollector {
  readonly #expected: number | undefined;
  #chunks: Buffer[] = [];
  #whole: Buffer | undefined;
  #filled = 0;
  constructor(expected: number | undefined) {
    this.#expected = expected;
  }
  add(chunk: Buffer): void {
    if (this.#expected === undefined) {
      this.#chunks.push(chunk);
      return;
    }
    this.#whole ??= Buffer.allocUnsafe(this.#expected);
    this.#filled += chunk.copy(this.#whole, this.#filled);
  }
  body(): Buffer {
    if (this.#whole !== undefined) return this.#whole.subarray(0, this.#filled);
    return Buffer.concat(this.#chunks);
  }
  drop(): void {
    this.#chunks = [];
    this.#whole = undefined;
  }
}

function aborted(e: Error, progress: BodyProgress): HttpRefusal {
  return new HttpRefusal(400, `request aborted: ${e.message}${describeProgress(progress)}`);
}

/**
 * Buffers a body. A declared length takes its whole share of the budget up front (refused with
 * 429 when it does not fit); a chunked body takes it chunk by chunk. Past either limit the bytes
 * already buffered are dropped at once and the rest of the body is left unread.
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { max, budget, progress } = limits;
  let taken = 0;
  limits.onSettled(() => budget.give(taken));
  if (progress.expected !== undefined) {
    if (!budget.take(progress.expected)) return Promise.reject(overBudget(budget, progress.expected));
    taken = progress.expected;
  }
  const collector = new BodyCollector(progress.expected);
  return new Promise((resolve, reject) => {
    const stop = (refusal: HttpRefusal): void => {
      req.removeListener("data", onData);
      collector.drop();
      budget.give(taken);
      taken = 0;
      reject(refusal);
    };
    const onData = (chunk: Buffer): void => {
      progress.received += chunk.length;
      if (progress.received > max) return stop(new HttpRefusal(413, `body is over the ${max}-byte limit`));
      if (progress.received > taken) {
        if (!budget.take(progress.received - taken)) return stop(overBudget(budget, chunk.length));
        taken = progress.received;
      }
      collector.add(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(collector.body()));
    req.on("error", (e: Error) => reject(aborted(e, progress)));
    // A client gone mid-body must not leave this promise (and its buffer) pending forever.
    req.on("close", () => {
      if (req.complete) return;
      collector.drop();
      reject(
        new HttpRefusal(
          400,
          `client closed the connection before the body ended${describeProgress(progress)}`,
        ),
      );
    });
  });
}
