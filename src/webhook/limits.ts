// The HTTPS server's limits on slow, large and malformed requests, and their defaults.

/** The API server caps a review at 3 MiB (etcd's request limit plus envelope). */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;

/** Defaults of the limits in WebhookServerOptions. */
export const WEBHOOK_LIMITS = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  /** Node's own default (120 s) lets a thousand idle TCP connections sit before TLS starts. */
  handshakeTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: MAX_REVIEW_BYTES,
  /**
   * About ten full-size reviews at once. A buffered review costs about three times its size until
   * it is answered (the bytes, their text, the parsed object), so this stays well inside the
   * chart's 256 MiB memory limit.
   */
  inFlightBodyBytes: 32 * 1024 * 1024,
} as const;

/** The limits given cannot work together. */
export class WebhookLimitsInvalid extends Error {
  constructor(message: string) {
    super(`webhook limits: ${message}`);
    this.name = "WebhookLimitsInvalid";
  }
}

export type Limits = { -readonly [K in keyof typeof WEBHOOK_LIMITS]: number };

/** The defaults with what was given; refuses limits that cannot work together. */
export function limitsOf(given: { [K in keyof Limits]?: number | undefined }): Limits {
  const defined = Object.entries(given).filter(([, v]) => v !== undefined);
  const limits: Limits = { ...WEBHOOK_LIMITS, ...Object.fromEntries(defined) };
  if (limits.inFlightBodyBytes < limits.maxBodyBytes)
    throw new WebhookLimitsInvalid(
      `inFlightBodyBytes ${limits.inFlightBodyBytes} is below maxBodyBytes ${limits.maxBodyBytes}: ` +
        "a full-size review would be refused for ever",
    );
  return limits;
}
