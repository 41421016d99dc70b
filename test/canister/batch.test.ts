import { describe, expect, it } from "vitest";
import { blobLiteral, runMotoko, textLiteral } from "./motoko.ts";

type Item = { key: string; entry: string | Uint8Array };

// Small limits stand in for the real ones (2 MiB, 1 MiB): the interpreter is slow on
// megabyte blobs, and the rule is the same; the real constants are checked separately.
function check(items: Item[], limits = { batch: 200, entry: 100, key: 16 }): string {
  const list = items
    .map(
      (it) =>
        `{ key = ${textLiteral(it.key)}; entry = ${blobLiteral(typeof it.entry === "string" ? Buffer.from(it.entry) : it.entry)} }`,
    )
    .join(", ");
  const program = `import B "Batch"; import Debug "mo:core/Debug";
Debug.print(debug_show(B.check({ maxBatchBytes = ${limits.batch}; maxEntryBytes = ${limits.entry}; maxKeyBytes = ${limits.key} }, [${list}])));`;
  return runMotoko("BatchCheck.mo", program).split("\n")[0] ?? "";
}

const entry = (key: string, pad = ""): string => `{"key":${JSON.stringify(key)},"note":"${pad}"}`;

describe("Batch.mo (append limits)", () => {
  it("accepts a batch of well-formed entries whose keys match", () => {
    expect(
      check([
        { key: "a", entry: entry("a") },
        { key: "b/c", entry: entry("b/c") },
      ]),
    ).toBe("null");
  });

  it("refuses a batch above the byte limit, naming its size and the limit", () => {
    const items = [0, 1, 2].map((i) => ({ key: `k${i}`, entry: entry(`k${i}`, "x".repeat(60)) }));
    const bytes = items.reduce((n, it) => n + Buffer.byteLength(it.entry) + it.key.length, 0);
    expect(check(items)).toBe(`?(#batch_too_large({bytes = ${bytes}; limit = 200}))`);
  });

  it("refuses an entry above the entry limit, naming the item", () => {
    const big = entry("b", "x".repeat(100));
    expect(
      check(
        [
          { key: "a", entry: entry("a") },
          { key: "b", entry: big },
        ],
        { batch: 1000, entry: 100, key: 16 },
      ),
    ).toBe(`?(#entry_too_large({bytes = ${Buffer.byteLength(big)}; item = 1; limit = 100}))`);
  });

  it("refuses entries that are not JSON objects in UTF-8", () => {
    expect(check([{ key: "a", entry: "[1]" }])).toContain(
      "#invalid_entry({item = 0; reason = \"entry does not start with '{'\"})",
    );
    expect(check([{ key: "a", entry: Uint8Array.from([0x7b, 0xc3, 0x7d]) }])).toContain("not valid UTF-8");
  });

  it("refuses an empty or over-long key, and a key the entry does not carry", () => {
    expect(check([{ key: "", entry: entry("") }])).toContain(
      '#invalid_key({item = 0; reason = "key must be 1..16 bytes, got 0"})',
    );
    expect(check([{ key: "k".repeat(17), entry: entry("k".repeat(17)) }])).toContain("got 17");
    expect(
      check([
        { key: "a", entry: entry("a") },
        { key: "b", entry: entry("c") },
      ]),
    ).toContain('#invalid_key({item = 1; reason = "entry has no "key" field equal to the given key"})');
  });

  it("finds the key as a whole JSON string, not a prefix of another, with multi-byte characters", () => {
    expect(check([{ key: "key-1", entry: entry("key-10") }])).toContain("#invalid_key");
    expect(check([{ key: "key-10", entry: entry("key-1") }])).toContain("#invalid_key");
    expect(check([{ key: "modèle/ü", entry: `{"data":{},"key":"modèle/ü"}` }])).toBe("null");
    expect(check([{ key: "a", entry: JSON.stringify({ key: "b", x: '"key":"a' }) }])).toContain(
      "#invalid_key",
    );
    const out = runMotoko(
      "ContainsBytes.mo",
      `import B "Batch"; import Debug "mo:core/Debug";
Debug.print(debug_show((B.containsBytes("abcabd", "abd"), B.containsBytes("ab", "abc"), B.containsBytes("", ""), B.containsBytes("aab", "ab"), B.containsBytes("abc", "x"))));`,
    );
    expect(out.split("\n")[0]).toBe("(true, false, true, true, false)");
  });

  it("uses the ingress limit and a 1 MiB default entry limit", () => {
    const out = runMotoko(
      "BatchLimits.mo",
      `import B "Batch"; import Debug "mo:core/Debug";
Debug.print(debug_show((B.MAX_BATCH_BYTES, B.DEFAULT_MAX_ENTRY_BYTES)));`,
    );
    expect(out.split("\n")[0]).toBe("(2_097_152, 1_048_576)");
  });
});
