// client-node's ApiException puts the whole response into its message ("HTTP-Code: 403\nMessage:
// …\nBody: {json}\nHeaders: {json}"): several lines, the response headers among them. What a
// person needs is the status and the API server's own sentence from the Status object.
import { ApiException } from "@kubernetes/client-node";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The API server's Status message from an error body, which client-node may hand over as text. */
function statusMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() === "" ? undefined : body.trim().split("\n")[0];
    }
  }
  if (!isRecord(parsed)) return undefined;
  const message = parsed["message"];
  if (typeof message === "string" && message !== "") return message;
  const reason = parsed["reason"];
  return typeof reason === "string" && reason !== "" ? reason : undefined;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  410: "Gone",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** A cause's line: a connection error's code with its message, else what describeKubeError says. */
function describeCause(cause: unknown): string {
  if (cause instanceof Error && !(cause instanceof ApiException) && isRecord(cause)) {
    const code = cause["code"];
    if (typeof code === "string" && !cause.message.includes(code)) return `${code} ${cause.message}`;
  }
  return describeKubeError(cause);
}

/** The HTTP status of an API error, when the error is one. */
export function kubeErrorStatus(e: unknown): number | undefined {
  if (e instanceof ApiException) return typeof e.code === "number" ? e.code : undefined;
  // The informer reports a failed list or watch as an Error whose message is the status text.
  if (isRecord(e) && typeof e["statusCode"] === "number") return e["statusCode"];
  return undefined;
}

/**
 * One line for an error from client-node: `403 Forbidden: modelversions.modelchain.io is
 * forbidden: User "x" cannot list …` for an API error, the cause's code and message for a
 * connection that failed, the message's first line otherwise.
 */
export function describeKubeError(e: unknown): string {
  if (e instanceof ApiException) {
    const code = Number(e.code);
    const text = STATUS_TEXT[code];
    const said = statusMessage(e.body);
    return `${code}${text === undefined ? "" : ` ${text}`}${said === undefined ? "" : `: ${said}`}`;
  }
  if (e instanceof Error) {
    const status = kubeErrorStatus(e);
    if (status !== undefined && !e.message.startsWith(String(status))) return `${status} ${e.message}`;
    // A wrapper that pasted an ApiException's message into its own keeps only its first line.
    const first = (e.message.split("\n")[0] ?? "").replace(/:?\s*HTTP-Code: \d+\s*$/, "").trim();
    if (e.cause === undefined || e.cause === null) return first;
    const cause = describeCause(e.cause);
    return first.includes(cause) ? first : `${first}: ${cause}`;
  }
  return String(e).split("\n")[0] ?? "";
}
