import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeKubeError, kubeErrorStatus } from "../../src/kube/index.ts";

const forbidden = new ApiException(
  403,
  "Unsuccessful HTTP Request",
  {
    kind: "Status",
    status: "Failure",
    message: 'secrets is forbidden: User "x" cannot list resource "secrets"',
    reason: "Forbidden",
    code: 403,
  },
  { "audit-id": "0b1c", "content-type": "application/json" },
);

describe("describeKubeError", () => {
  it.each([
    [
      "an ApiException: status and the Status message, no headers",
      forbidden,
      '403 Forbidden: secrets is forbidden: User "x" cannot list resource "secrets"',
    ],
    [
      "an ApiException whose body is text",
      new ApiException(401, "Unauthorized", "Unauthorized\n", {}),
      "401 Unauthorized: Unauthorized",
    ],
    [
      "a watch refused (statusCode on a plain Error)",
      Object.assign(new Error("Forbidden"), { statusCode: 403 }),
      "403 Forbidden",
    ],
    [
      "a connection refused",
      new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" }),
      }),
      "fetch failed: connect ECONNREFUSED 127.0.0.1:6443",
    ],
    [
      "a wrapper that pasted the ApiException's message",
      new Error(`patch failed: ${forbidden.message}`, { cause: forbidden }),
      'patch failed: 403 Forbidden: secrets is forbidden: User "x" cannot list resource "secrets"',
    ],
    ["anything else: its first line", "line one\nline two", "line one"],
  ])("%s", (_what, error, line) => {
    const said = describeKubeError(error);
    expect(said).toBe(line);
    expect(said).not.toMatch(/\n|Headers|audit-id/);
  });

  it("reads the status of an ApiException and of a refused watch", () => {
    expect(kubeErrorStatus(forbidden)).toBe(403);
    expect(kubeErrorStatus(Object.assign(new Error("Gone"), { statusCode: 410 }))).toBe(410);
    expect(kubeErrorStatus(new Error("x"))).toBeUndefined();
  });
});
