// downloadObject hands back the memory of chunks it has written only when the source says they
// are its own, and then only chunks that own their whole ArrayBuffer: a view into a buffer shared
// with other data is left alone, and the bytes written are the bytes sent either way. Last, the
// real HTTPS source against a real server on loopback that cuts the body once: Node's response
// chunks are released, and the range resumed after the cut is still exact.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { globalAgent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadObject } from "../../src/artifact/download.ts";
import { httpsSource } from "../../src/artifact/https-source.ts";
import type { ArtifactSource } from "../../src/artifact/source.ts";
import { certDir, hasOpenssl } from "../webhook/tls-fixture.ts";
import { startHttpsStore } from "./https-store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sourceOf(chunks: Uint8Array[], ownedChunks: boolean): ArtifactSource {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  return {
    list: () => Promise.resolve([{ path: "w.bin", locator: "mem://w.bin" }]),
    open: () =>
      Promise.resolve({
        body: (async function* () {
          for (const c of chunks) yield c;
        })(),
        start: 0,
        total,
        ownedChunks,
      }),
  };
}

async function downloadFrom(
  source: ArtifactSource,
  locator = "mem://w.bin",
): Promise<{ sha256: string; bytes: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), "mc-release-"));
  dirs.push(dir);
  const retry = { attempts: 3, policy: { baseMs: 1, maxMs: 5 } };
  const { sha256 } = await downloadObject(source, { path: "w.bin", locator }, join(dir, "w.bin"), retry);
  return { sha256, bytes: readFileSync(join(dir, "w.bin")) };
}

const download = (chunks: Uint8Array[], owned: boolean): Promise<{ sha256: string; bytes: Buffer }> =>
  downloadFrom(sourceOf(chunks, owned));

/** `source`, keeping every chunk its bodies yield. */
function observed(source: ArtifactSource, seen: Uint8Array[]): ArtifactSource {
  return {
    list: () => source.list(),
    open: async (object, offset, validator) => {
      const range = await source.open(object, offset, validator);
      const body = range.body;
      return {
        ...range,
        body: (async function* () {
          for await (const c of body) {
            seen.push(c);
            yield c;
          }
        })(),
      };
    },
  };
}

const pattern = (n: number, seed: number): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251);

describe("downloadObject releasing written chunks", () => {
  it("detaches chunks that own their buffer once written, and writes exactly their bytes", async () => {
    const chunks = Array.from({ length: 80 }, (_, i) => pattern(16 * 1024, i));
    const expected = Buffer.concat(chunks);
    const got = await download(chunks, true);
    expect(got.bytes.equals(expected)).toBe(true);
    expect(got.sha256).toBe(createHash("sha256").update(expected).digest("hex"));
    expect(chunks.every((c) => c.buffer.byteLength === 0)).toBe(true);
  });

  it("leaves views into a shared buffer intact", async () => {
    const shared = pattern(64 * 1024, 7);
    const views = Array.from({ length: 4 }, (_, i) => shared.subarray(i * 16 * 1024, (i + 1) * 16 * 1024));
    const got = await download(views, true);
    expect(got.bytes.equals(Buffer.from(shared))).toBe(true);
    expect(shared.buffer.byteLength).toBe(64 * 1024);
    expect(Buffer.from(shared).equals(Buffer.from(pattern(64 * 1024, 7)))).toBe(true);
  });

  it("detaches nothing from a source that does not say its chunks are its own", async () => {
    const chunks = Array.from({ length: 4 }, (_, i) => pattern(16 * 1024, i));
    await download(chunks, false);
    expect(chunks.every((c) => c.buffer.byteLength === 16 * 1024)).toBe(true);
  });

  it.skipIf(!hasOpenssl())(
    "releases the chunks of a real HTTPS response, across a body cut and resumed by range",
    async () => {
      const tls = certDir();
      const store = await startHttpsStore(tls.certFile, tls.keyFile);
      const ca = globalAgent.options.ca;
      globalAgent.options.ca = readFileSync(tls.certFile);
      try {
        const weights = randomBytes(2 * 1024 * 1024 + 5);
        store.put("/w.bin", { bytes: weights, cutAt: 700 * 1024, cutTimes: 1 });
        const seen: Uint8Array[] = [];
        const url = store.url("/w.bin");
        const got = await downloadFrom(observed(httpsSource({ url }), seen), url);
        expect(got.bytes.equals(weights)).toBe(true);
        expect(got.sha256).toBe(createHash("sha256").update(weights).digest("hex"));
        expect(store.seen.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
        // A Content-Length body: Node hands over each record in a buffer of its own.
        const released = seen.filter((c) => c.buffer.byteLength === 0).length;
        expect(released).toBeGreaterThan(seen.length * 0.9);
      } finally {
        globalAgent.options.ca = ca;
        await store.close();
      }
    },
  );
});
