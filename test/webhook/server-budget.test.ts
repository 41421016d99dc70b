// The webhook's budget of request-body bytes in flight, over real HTTPS: requests beyond it are
// refused with 429 and a reason instead of being buffered, and the budget comes back.
import { connect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdmissionDecision } from "../../src/webhook/decision.ts";
import { startWebhookServer, WebhookLimitsInvalid, type WebhookServer } from "../../src/webhook/server.ts";
import { post, pumpChunked, rawExchange } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook body-budget tests: the openssl CLI is not installed (needed for test certificates)",
  );

const HEAD = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";
const BUDGET = 512 * 1024;

const allow: AdmissionDecision = {
  allowed: true,
  message: "",
  warnings: [],
  reason: "verified",
  checkFailed: undefined,
  resource: "deployments",
  record: [],
};

function paddedReview(uid: string, padding: number): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "apps", version: "v1", kind: "Deployment" },
      operation: "CREATE",
      namespace: "ml",
      object: { padding: "x".repeat(padding) },
    },
  });
}

/** A request whose headers promise `length` bytes and whose body stops after ten of them. */
function heldRequest(port: number, length: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      socket.write(`${HEAD}content-length: ${length}\r\n\r\n{"a":"bcd"`);
      resolve(socket);
    });
    socket.on("error", reject);
  });
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(noOpenssl)("webhook HTTPS server, in-flight body budget", () => {
  let server: WebhookServer;
  const tls = noOpenssl ? undefined : certDir();

  beforeAll(async () => {
    if (tls === undefined) return;
    server = await startWebhookServer({
      ...tls,
      port: 0,
      host: "127.0.0.1",
      ready: () => true,
      maxBodyBytes: 256 * 1024,
      inFlightBodyBytes: BUDGET,
      review: async () => {
        await new Promise((r) => setTimeout(r, 100));
        return allow;
      },
    });
  });
  afterAll(async () => server?.close());

  it("refuses a body whose Content-Length would exceed the budget with 429, Retry-After and the reason", async () => {
    const held = await Promise.all([heldRequest(server.port, 200_000), heldRequest(server.port, 200_000)]);
    await until("two bodies held", () => server.bodyBudget.inUse === 400_000);
    const reply = await rawExchange(server.port, `${HEAD}content-length: 200000\r\n\r\n`);
    expect(reply.text).toMatch(/^HTTP\/1\.1 429 /);
    expect(reply.text.toLowerCase()).toContain("retry-after: 1\r\n");
    expect(reply.text).toContain(`400000 bytes of request bodies are in flight`);
    expect(reply.text).toContain(`${BUDGET}-byte budget`);
    for (const s of held) s.destroy();
    await until("the budget to be given back", () => server.bodyBudget.inUse === 0);
    expect((await post(server.port, paddedReview("after", 200_000))).status).toBe(200);
    await until("the budget to be given back again", () => server.bodyBudget.inUse === 0);
  });

  it("refuses a chunked body that grows past the budget with 429 and closes without a reset", async () => {
    const held = await Promise.all([heldRequest(server.port, 200_000), heldRequest(server.port, 200_000)]);
    await until("two bodies held", () => server.bodyBudget.inUse === 400_000);
    const reply = await rawExchange(server.port, `${HEAD}transfer-encoding: chunked\r\n\r\n`, {
      feed: (socket) => pumpChunked(socket, 4 * 1024 * 1024),
    });
    expect(reply.text, reply.error).toMatch(/^HTTP\/1\.1 429 /);
    expect(reply.text).toContain("budget");
    expect(reply.error).toBeUndefined();
    for (const s of held) s.destroy();
    await until("the budget to be given back", () => server.bodyBudget.inUse === 0);
  });

  it("answers every one of many concurrent large reviews with 200 or 429, holding at most the budget", async () => {
    let most = 0;
    const sample = setInterval(() => (most = Math.max(most, server.bodyBudget.inUse)), 5);
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) => post(server.port, paddedReview(`r${i}`, 100_000))),
    );
    clearInterval(sample);
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    for (const r of replies.filter((x) => x.status === 429)) expect(r.text).toContain("retry after 1 s");
    expect(most).toBeLessThanOrEqual(BUDGET);
    await until("the budget to be given back", () => server.bodyBudget.inUse === 0);
  });

  it("refuses to start with a budget smaller than one full-size review", async () => {
    if (tls === undefined) return;
    await expect(
      startWebhookServer({
        ...tls,
        port: 0,
        host: "127.0.0.1",
        ready: () => true,
        review: () => allow,
        inFlightBodyBytes: 1024,
      }),
    ).rejects.toThrow(WebhookLimitsInvalid);
  });
});
