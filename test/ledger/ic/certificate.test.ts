import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import {
  certifiedTipData,
  CertificateRejected,
  verifyCertifiedTip,
} from "../../../src/ledger/ic/certificate.ts";
import { MemoryLedger } from "../../../src/ledger/index.ts";
import { entries } from "../fixtures.ts";
import { certificate, rootKey } from "./certificates.ts";

const canisterId = "uxrrr-q7777-77774-qaaaq-cai";
const other = "rrkah-fqaaa-aaaaa-aaaaq-cai";
const now = new Date("2026-11-25T12:00:00Z");

const key = rootKey();
const ledger = new MemoryLedger();
await ledger.append(entries(0, 5));
const size = await ledger.size();
const root = await ledger.root();
const good = await certificate({
  key,
  canisterId,
  certifiedData: certifiedTipData(size, root),
  time: new Date(now.getTime() - 10_000),
});
const tip = { certificate: good, rootKey: key.der, canisterId, size, root, now };

describe("certified tips (ic backend)", () => {
  it("accepts a certificate whose certified data is SHA-256(u64be(size) ‖ root), signed by the root key", async () => {
    const { time } = await verifyCertifiedTip(tip);
    expect(time.toISOString()).toBe("2026-11-25T11:59:50.000Z");
  });

  it.each([
    [
      "signed by another key",
      async () => ({
        ...tip,
        certificate: await certificate({
          key: rootKey(),
          canisterId,
          certifiedData: certifiedTipData(size, root),
          time: now,
        }),
      }),
      /does not verify for canister [a-z0-9-]+ under the root key/,
    ],
    [
      "certifying another tip",
      async () => ({ ...tip, size: size - 1, root: await ledger.root(size - 1) }),
      /certified data [0-9a-f]{64} is not SHA-256\(size 4/,
    ],
    [
      "certifying the wrong size for the root",
      async () => ({ ...tip, size: size + 1 }),
      /is not SHA-256\(size 6/,
    ],
    [
      "too old",
      async () => ({
        ...tip,
        certificate: await certificate({
          key,
          canisterId,
          certifiedData: certifiedTipData(size, root),
          time: new Date(now.getTime() - 10 * 60_000),
        }),
      }),
      /600 s old, more than the 300 s allowed/,
    ],
    [
      "for another canister",
      async () => ({
        ...tip,
        certificate: await certificate({
          key,
          canisterId: other,
          certifiedData: certifiedTipData(size, root),
          time: now,
        }),
      }),
      /certifies no data for canister uxrrr/,
    ],
    [
      "garbage",
      async () => ({ ...tip, certificate: new Uint8Array([1, 2, 3]) }),
      /does not verify for canister [a-z0-9-]+ under the root key/,
    ],
  ])("rejects a certificate %s", async (_what, make, message) => {
    const bad = await make();
    await expect(verifyCertifiedTip(bad)).rejects.toThrow(CertificateRejected);
    await expect(verifyCertifiedTip(bad)).rejects.toThrow(message);
  });

  it("computes the certified data the canister sets", () => {
    expect(
      Buffer.from(
        certifiedTipData(0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ).toString("hex"),
    ).toBe(
      // SHA-256 of eight zero bytes followed by SHA-256("").
      createHash("sha256")
        .update(
          Buffer.concat([
            Buffer.alloc(8),
            Buffer.from("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
          ]),
        )
        .digest("hex"),
    );
  });
});
