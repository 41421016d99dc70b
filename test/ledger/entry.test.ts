import { describe, expect, it } from "vitest";
import {
  canonicalBytes,
  decodeEnvelope,
  encodeEnvelope,
  EnvelopeDecodeError,
  parseEntry,
} from "../../src/ledger/index.ts";
import { sampleEntry } from "./fixtures.ts";

const text = (value: unknown) => new TextDecoder().decode(canonicalBytes(value));

describe("RFC 8785 canonical JSON", () => {
  it("serialises the RFC's §3.2.2 example exactly", () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    expect(text(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts properties by UTF-16 code units as in §3.2.3", () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    // Read the key order from the text: a parsed object would put the integer-like "1" first.
    const values = [...text(input).matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
  });

  it.each([
    [0, "0"],
    [-0, "0"],
    [1e21, "1e+21"],
    [9007199254740992, "9007199254740992"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [0.000001, "0.000001"],
    [1e-7, "1e-7"],
    [295147905179352830000, "295147905179352830000"],
  ])("formats the number %s as %s (Appendix B)", (n, expected) => {
    expect(text(n)).toBe(expected);
  });

  it("refuses values JSON cannot represent", () => {
    expect(() => canonicalBytes(Number.NaN)).toThrow();
    expect(() => canonicalBytes(Number.POSITIVE_INFINITY)).toThrow();
  });
});

describe("ledger entries", () => {
  it.each([
    ["a string", "entry must be a JSON object"],
    [null, "entry must be a JSON object"],
    [{ ...sampleEntry(1), kind: undefined }, "kind must be a non-empty string"],
    [{ ...sampleEntry(1), key: 7 }, "key must be a non-empty string"],
    [{ ...sampleEntry(1), v: 3 }, "v must be one of 1, 2"],
    [{ ...sampleEntry(1), v: "2" }, "v must be one of 1, 2"],
    [
      { ...sampleEntry(1), subject: { kind: "X", name: "n" } },
      "subject.apiVersion must be a non-empty string",
    ],
    [{ ...sampleEntry(1), data: [] }, "data must be an object"],
    [{ ...sampleEntry(1), extra: 1 }, "extra is not a ledger entry field"],
    [{ ...sampleEntry(1), data: { big: "x".repeat(1024 * 1024) } }, "over the 1048576-byte limit"],
  ])("rejects a bad entry with the message %#: naming the field", (value, message) => {
    expect(() => parseEntry(value)).toThrow(message);
  });

  it("accepts an entry at the size limit's edge and keeps every field", () => {
    const entry = sampleEntry(3);
    expect(parseEntry(JSON.parse(JSON.stringify(entry)))).toEqual(entry);
  });
});

describe("leaf envelope", () => {
  const envelope = { entry: sampleEntry(1), recordedAt: "1764037170123456789", recordedBy: "file:abc" };

  it("round-trips and sorts entry < recordedAt < recordedBy, as the canister concatenates it", () => {
    const bytes = encodeEnvelope(envelope);
    const asText = new TextDecoder().decode(bytes);
    expect(asText.startsWith('{"entry":{')).toBe(true);
    expect(asText.endsWith(',"recordedAt":"1764037170123456789","recordedBy":"file:abc"}')).toBe(true);
    expect(decodeEnvelope(bytes)).toEqual(envelope);
  });

  it("rejects bytes that are not the canonical encoding of what they say", () => {
    const spaced = new TextEncoder().encode(JSON.stringify(envelope, null, 1));
    expect(() => decodeEnvelope(spaced)).toThrow(/not the canonical JSON encoding/);
    const numeric = new TextEncoder().encode(
      new TextDecoder().decode(encodeEnvelope(envelope)).replace('"1764037170123456789"', "17"),
    );
    expect(() => decodeEnvelope(numeric)).toThrow(EnvelopeDecodeError);
    expect(() => decodeEnvelope(Uint8Array.of(0xff, 0xfe))).toThrow(/not UTF-8 JSON/);
  });
});
