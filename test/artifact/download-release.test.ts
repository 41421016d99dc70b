// downloadObject hands back the memory of chunks it has written only when the source says they
// are its own, and then only chunks that own their whole ArrayBuffer: a view into a buffer shared
// with other data is left alone, and the bytes written are the bytes sent either way.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { downloadObject } from "../../src/artifact/download.ts";
import type { ArtifactSource } from "../../src/artifact/source.ts";

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

async function download(chunks: Uint8Array[], owned: boolean): Promise<{ sha256: string; bytes: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), "mc-release-"));
  dirs.push(dir);
  const { sha256 } = await downloadObject(
    sourceOf(chunks, owned),
    { path: "w.bin", locator: "mem://w.bin" },
    join(dir, "w.bin"),
  );
  return { sha256, bytes: readFileSync(join(dir, "w.bin")) };
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
});
