// The webhook's HTTPS server against malformed HTTP and half-open connections, with raw TLS
// sockets that send exactly the bytes under test.
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookServer, type WebhookServer } from "../../src/webhook/server.ts";
import { admissionRefusals } from "../../src/metrics/index.ts";
import { post, pumpChunked, rawExchange } from "./https-client.ts";
import { certDir, hasOpenssl } from "./tls-fixture.ts";

const noOpenssl = !hasOpenssl();
if (noOpenssl)
  console.log(
    "skipping webhook malformed-input tests: the openssl CLI is not installed (needed for test certificates)",
  );

const HEAD = "POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";

function statusOf(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? -1);
}

function bodyOf(text: string): string {
  return text.slice(text.indexOf("\r\n\r\n") + 4);
}

describe.skipIf(noOpenssl)("webhook HTTPS server, malformed input", () => {
  let server: WebhookServer;
  const tls = noOpenssl ? undefined : certDir();

  beforeAll(async () => {
    if (tls === undefined) return;
    server = await startWebhookServer({
      ...tls,
      port: 0,
      host: "127.0.0.1",
      ready: () => true,
      headersTimeoutMs: 300,
      requestTimeoutMs: 600,
      handshakeTimeoutMs: 300,
      review: () => {
        throw new Error("no review expected here");
      },
    });
  });
  afterAll(async () => server?.close());

  const malformed = [
    {
      name: "Content-Length together with Transfer-Encoding: chunked",
      bytes: `${HEAD}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      says: ["HPE_INVALID_TRANSFER_ENCODING", "Content-Length"],
    },
    {
      name: "two different Content-Lengths",
      bytes: `${HEAD}content-length: 5\r\ncontent-length: 6\r\n\r\n12345`,
      status: 400,
      says: ["HPE_UNEXPECTED_CONTENT_LENGTH", "Duplicate Content-Length"],
    },
    {
      name: "a chunk size that is not hex",
      bytes: `${HEAD}transfer-encoding: chunked\r\n\r\nzz\r\n`,
      status: 400,
      says: ["HPE_INVALID_CHUNK_SIZE"],
    },
    {
      name: "headers over 16 KiB",
      bytes: `${HEAD}x-padding: ${"a".repeat(20_000)}\r\n\r\n`,
      status: 431,
      says: ["HPE_HEADER_OVERFLOW", "16384-byte limit"],
    },
    {
      name: "a body cut short by the client ending the connection",
      bytes: `${HEAD}content-length: 100\r\n\r\n{"a":`,
      end: true,
      status: 400,
      says: ["truncated request", "5 of 100 body bytes", "HPE_INVALID_EOF_STATE"],
    },
    {
      name: "a chunked body cut short by the client ending the connection",
      bytes: `${HEAD}transfer-encoding: chunked\r\n\r\na\r\n{"a":`,
      end: true,
      status: 400,
      says: ["truncated request", "5 bytes of a chunked body", "HPE_INVALID_EOF_STATE"],
    },
    {
      name: "a body that stalls short of its Content-Length",
      bytes: `${HEAD}content-length: 100\r\n\r\n{`,
      status: 408,
      says: ["not complete within 600 ms", "1 of 100 body bytes"],
    },
  ];
  const refusals = async (status: string): Promise<number> =>
    (await admissionRefusals.get()).values.find((v) => v.labels["status"] === status)?.value ?? 0;

  for (const m of malformed) {
    it(`answers ${m.name} with ${m.status} and a body that says why`, async () => {
      const before = await refusals(String(m.status));
      const reply = await rawExchange(server.port, m.bytes, { end: m.end });
      expect(await refusals(String(m.status)), "modelchain_admission_refusals_total").toBe(before + 1);
      expect(reply.closedByServer).toBe(true);
      expect(statusOf(reply.text), reply.text).toBe(m.status);
      expect(reply.text.toLowerCase()).toContain("connection: close");
      for (const s of m.says) expect(bodyOf(reply.text)).toContain(s);
    });
  }

  it("answers an oversized chunked body with 413 and closes, instead of resetting the connection", async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await rawExchange(server.port, `${HEAD}transfer-encoding: chunked\r\n\r\n`, {
        feed: (socket) => pumpChunked(socket, 16 * 1024 * 1024),
      });
      expect(statusOf(reply.text), `${reply.text} ${reply.error ?? ""}`).toBe(413);
      expect(bodyOf(reply.text)).toContain("over the 3145728-byte limit");
      expect(reply.text.toLowerCase()).toContain("connection: close");
      expect(reply.error).toBeUndefined();
    }
    expect((await post(server.port, "{not json")).status).toBe(400);
  });

  it("closes connections that never finish the TLS handshake after the handshake timeout", async () => {
    // Node's default is 120 s; the test waits at most 10 s per socket, then destroys it itself.
    const before = await refusals("tls");
    const closedByServer = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          new Promise<boolean>((resolve) => {
            const socket = connectTcp({ host: "127.0.0.1", port: server.port }, () => {
              // Half of them start a ClientHello record and stop; the others send nothing.
              if (i % 2 === 1) socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
            });
            const timer = setTimeout(() => {
              socket.destroy();
              resolve(false);
            }, 10_000);
            socket.on("error", () => undefined);
            socket.on("close", () => {
              clearTimeout(timer);
              resolve(true);
            });
          }),
      ),
    );
    expect(closedByServer.filter((c) => !c)).toHaveLength(0);
    expect(await refusals("tls"), "handshakes counted as tls refusals").toBe(before + 20);
    expect((await post(server.port, "{not json")).status).toBe(400);
  });
});
