// Every ledger error says, by its type, whether trying again can help: callers classify with
// `instanceof LedgerError` and its flags, never by name or by probing for a field.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  CheckpointMismatchError,
  CheckpointSignatureError,
  EntryValidationError,
  FileLedger,
  HexDecodeError,
  IcAppendRefused,
  IcVerificationError,
  LedgerAppendFailed,
  LedgerCorruptError,
  LedgerError,
  LedgerLockedError,
  LedgerLockLost,
  LedgerOpenFailed,
  LedgerUnavailableError,
  LedgerUrlError,
  OutboxCorruptError,
  OutboxLedger,
  ProofInputError,
  RootMismatchError,
  CertificateRejected,
  IdentityPemError,
} from "../../src/ledger/index.ts";
import { sampleEntry, tempDir } from "./fixtures.ts";

const zero = new Uint8Array(32);

describe("ledger errors", () => {
  it.each([
    ["EntryValidationError", new EntryValidationError("kind", "is empty"), false, true],
    ["LedgerUrlError", new LedgerUrlError("x://", "unknown scheme"), false, true],
    [
      "IcAppendRefused (entry too large)",
      refused({ entry_too_large: { item: 0n, bytes: 9n, limit: 1n } }),
      false,
      true,
    ],
    ["IcAppendRefused (unauthorized)", refused({ unauthorized: "2vxsx-fae" }), false, false],
    ["LedgerUnavailableError", new LedgerUnavailableError("/o", 3, new Error("down")), true, false],
    ["LedgerLockedError", new LedgerLockedError("/l", 7, "node-a", "/l/lock/0000000000000001"), true, false],
    ["LedgerCorruptError", new LedgerCorruptError(4, "leaf hash differs"), false, false],
    ["LedgerAppendFailed", new LedgerAppendFailed("fsync failed"), false, false],
    ["LedgerOpenFailed", new LedgerOpenFailed("no index"), false, false],
    ["CheckpointMismatchError", new CheckpointMismatchError("root differs"), false, false],
    ["CheckpointSignatureError", new CheckpointSignatureError("bad signature"), false, false],
    ["LedgerLockLost", new LedgerLockLost("/l", 3, "held by pid 8 on node-b"), false, false],
    ["OutboxCorruptError", new OutboxCorruptError("/o", 1, 8, "checksum mismatch"), false, false],
    ["IcVerificationError", new IcVerificationError("tip not certified"), false, false],
    ["CertificateRejected", new CertificateRejected("stale"), false, false],
    ["ProofInputError", new ProofInputError("size 9 beyond 3"), false, false],
    ["RootMismatchError", new RootMismatchError(zero, zero), false, false],
    ["HexDecodeError", new HexDecodeError("root", "zz"), false, false],
    ["IdentityPemError", new IdentityPemError("no key"), false, false],
  ])("%s is a LedgerError with retryable=%s permanent=%s", (_name, error, retryable, permanent) => {
    expect(error).toBeInstanceOf(LedgerError);
    expect(error).toBeInstanceOf(Error);
    expect({ retryable: error.retryable, permanent: error.permanent }).toEqual({ retryable, permanent });
  });

  describe("behind an outbox", () => {
    const made: Array<() => void> = [];
    afterEach(() => {
      for (const remove of made.splice(0)) remove();
    });

    it("keeps an entry the ledger cannot take now (not permanent) instead of setting it aside", async () => {
      const ledgerDir = tempDir("modelchain-errors-ledger-");
      const outboxDir = tempDir("modelchain-errors-outbox-");
      made.push(ledgerDir.remove, outboxDir.remove);
      await (await FileLedger.open(ledgerDir.dir)).close();
      const readOnly = await FileLedger.open(ledgerDir.dir, { readOnly: true });
      const outbox = OutboxLedger.open(readOnly, outboxDir.dir, { retryBaseMs: 5, deliveryTimeoutMs: 200 });
      const failure = await outbox.append([sampleEntry(1)]).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(LedgerUnavailableError);
      expect(failure).toMatchObject({ retryable: true, permanent: false });
      expect(outbox.depth()).toBe(1);
      expect(existsSync(join(outboxDir.dir, "outbox.dead"))).toBe(false);
      await outbox.close();
    });
  });
});

function refused(reason: ConstructorParameters<typeof IcAppendRefused>[1]): IcAppendRefused {
  return new IcAppendRefused("aaaaa-aa", reason, 0);
}
