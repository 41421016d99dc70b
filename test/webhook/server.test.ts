import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdmissionDecision } from "../../src/webhook/decision.ts";
import { startWebhookServer, type WebhookServer } from "../../src/webhook/server.ts";
import { agent, post, servedFingerprint } from "./https-client.ts";
import { certDir, hasOpenssl, writeCert } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook HTTPS tests: the openssl CLI is not installed (needed for test certificates)",
  );

export function review(uid: unknown, overrides: Record<string, unknown> = {}): string {
  const request = {
    uid,
    kind: { group: "apps", version: "v1", kind: "Deployment" },
    operation: "CREATE",
    namespace: "ml",
    object: {},
  };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request,
    ...overrides,
  });
}

const deny: AdmissionDecision = {
  allowed: false,
  message: "modelchain: imagePinned failed",
  warnings: ["w1"],
  reason: "image-not-pinned",
  checkFailed: "imagePinned",
  resource: "deployments",
  record: [],
};

describe.skipIf(noOpenssl)("webhook HTTPS server", () => {
  let server: WebhookServer;
  let ready = false;
  const tls = noOpenssl ? undefined : certDir();

  beforeAll(async () => {
    if (tls === undefined) return;
    server = await startWebhookServer({
      ...tls,
      port: 0,
      host: "127.0.0.1",
      ready: () => ready,
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      tlsPollMs: 100,
      review: (r) => {
        if (r.namespace === "boom") throw new Error("cache exploded");
        return deny;
      },
    });
  });
  afterAll(async () => server?.close());

  it("answers a review with the request uid, the denial message and warnings", async () => {
    const reply = await post(server.port, review("uid-42"));
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.text);
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" });
    expect(body.response).toEqual({
      uid: "uid-42",
      allowed: false,
      warnings: ["w1"],
      status: { code: 403, reason: "Forbidden", message: "modelchain: imagePinned failed" },
    });
  });

  it("fails closed: an exception in the decision is a deny with code 500", async () => {
    const body = JSON.parse((await post(server.port, review("u", {}).replace('"ml"', '"boom"'))).text);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.code).toBe(500);
    expect(body.response.status.message).toContain("cache exploded");
  });

  const bad = [
    { name: "non-JSON", body: "{not json", status: 400, says: "not JSON" },
    {
      name: "a wrong apiVersion",
      body: review("u", { apiVersion: "admission.k8s.io/v1beta1" }),
      status: 400,
      says: "apiVersion",
    },
    { name: "a wrong kind", body: review("u", { kind: "Pod" }), status: 400, says: "kind" },
    { name: "a missing request.uid", body: review(undefined), status: 400, says: "request.uid" },
    { name: "an empty request.uid", body: review(""), status: 400, says: "request.uid" },
    { name: "a JSON array", body: "[]", status: 400, says: "JSON object" },
  ];
  for (const b of bad) {
    it(`refuses ${b.name} with ${b.status} and a reason`, async () => {
      const reply = await post(server.port, b.body);
      expect(reply.status).toBe(b.status);
      expect(reply.text).toContain(b.says);
    });
  }

  it("refuses a wrong content type", async () => {
    const reply = await post(server.port, review("u"), { headers: { "content-type": "text/plain" } });
    expect(reply.status).toBe(400);
    expect(reply.text).toContain("content-type");
  });

  it("refuses a body over 3 MiB", async () => {
    const huge = review("u", { padding: "x".repeat(3 * 1024 * 1024) });
    const reply = await post(server.port, huge);
    // The refusal is read by the client although it is still sending: the server drains, then closes.
    expect(reply.status).toBe(413);
    expect(reply.text).toContain("over the 3145728-byte limit");
    expect((await post(server.port, review("after"))).status).toBe(200);
  });

  it("refuses other methods and paths", async () => {
    expect((await post(server.port, "", { method: "GET" })).status).toBe(405);
    expect((await post(server.port, "", { method: "GET", path: "/nope" })).status).toBe(404);
  });

  it("healthz is always ok and readyz follows the cache", async () => {
    expect((await post(server.port, "", { method: "GET", path: "/healthz" })).status).toBe(200);
    expect((await post(server.port, "", { method: "GET", path: "/readyz" })).status).toBe(503);
    ready = true;
    expect((await post(server.port, "", { method: "GET", path: "/readyz" })).status).toBe(200);
  });

  it("closes a connection whose headers never finish", async () => {
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const started = Date.now();
      const socket = connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false }, () => {
        socket.write("POST /validate HTTP/1.1\r\nhost: x\r\n"); // and never the blank line
      });
      socket.on("data", () => undefined);
      socket.on("close", () => resolve(Date.now() - started));
      socket.on("error", reject);
    });
    expect(closedAfter).toBeLessThan(5_000);
  });

  it("closes a connection whose body never finishes", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false }, () => {
        socket.write(
          "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        );
      });
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(answer, answer).toMatch(/^(HTTP\/1.1 408[^]*)?$/);
  });

  it("keeps serving after clients disconnect in the middle of a body", async () => {
    await Promise.all(
      Array.from(
        { length: 50 },
        () =>
          new Promise<void>((resolve) => {
            const socket = connect(
              { host: "127.0.0.1", port: server.port, rejectUnauthorized: false },
              () => {
                socket.write(
                  'POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"apiVersion":',
                );
                socket.destroy();
                resolve();
              },
            );
            socket.on("error", () => resolve());
          }),
      ),
    );
    expect((await post(server.port, review("after-aborts"))).status).toBe(200);
  });

  it("serves a rotated certificate without a restart", async () => {
    if (tls === undefined) return;
    const before = await servedFingerprint(server.port);
    writeCert(tls.dir, "rotated");
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await servedFingerprint(server.port);
    }
    expect(after).not.toBe(before);
    expect((await post(server.port, review("after-rotation"), { agent: agent() })).status).toBe(200);
  });
});
