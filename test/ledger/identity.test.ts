import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keyIdOf, signCheckpoint } from "../../src/ledger/checkpoint.ts";
import { auditFileLedger, FileLedger } from "../../src/ledger/file/index.ts";
import { entries, tempDir } from "./fixtures.ts";
import { otherKeyPem, rewriteRecorder } from "./disk-edits.ts";

let dir: string;
let remove: () => void;
const warnings: string[] = [];
const open = (options = {}) => FileLedger.open(dir, { warn: (m) => warnings.push(m), ...options });
const identityFile = () =>
  JSON.parse(readFileSync(join(dir, "ledger.json"), "utf8")) as Record<string, string>;

async function ledgerWith(count: number): Promise<string> {
  const ledger = await open();
  if (count > 0) await ledger.append(entries(0, count));
  const keyId = (await ledger.checkpoint()).keyId;
  await ledger.close();
  return keyId;
}

beforeEach(() => {
  ({ dir, remove } = tempDir());
  warnings.length = 0;
});
afterEach(() => remove());

describe("the ledger's identity", () => {
  it("is fixed at creation in ledger.json: the key that signs its checkpoints and records its entries", async () => {
    const keyId = await ledgerWith(3);
    const pem = readFileSync(join(dir, "checkpoint-key.pem"), "utf8");
    expect(keyIdOf(createPublicKey(createPrivateKey(pem)))).toBe(keyId);
    expect(identityFile()).toMatchObject({ type: "modelchain.ledger/v1", origin: "file", keyId });
    const ledger = await open({ readOnly: true });
    expect(ledger.origin).toEqual({ backend: "file", keyId });
    expect((await ledger.get(2)).envelope.recordedBy).toBe(`file:${keyId}`);
    await ledger.close();
  });

  it("a checkpoint.json re-signed by another key over the same history stops the writer and fails the audit, naming both keys", async () => {
    const keyId = await ledgerWith(5);
    const honest = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8")) as {
      size: number;
      root: string;
    };
    const other = createPrivateKey(otherKeyPem());
    const resigned = signCheckpoint(honest, other, new Date());
    writeFileSync(join(dir, "checkpoint.json"), JSON.stringify(resigned));
    const both = new RegExp(`signed by key ${resigned.keyId}, not by the ledger's key ${keyId}`);
    await expect(open()).rejects.toThrow(both);
    await expect(open({ readOnly: true })).rejects.toThrow(both);
    const audit = await auditFileLedger(dir);
    expect(audit.problem?.message).toMatch(both);
    // Given by an auditor, it is refused the same way.
    rmSync(join(dir, "checkpoint.json"));
    expect((await auditFileLedger(dir, [resigned])).problem?.message).toMatch(both);
  });

  it("a missing key on a ledger with history stops the writer with how to restore it, and no key is made", async () => {
    const keyId = await ledgerWith(4);
    rmSync(join(dir, "checkpoint-key.pem"));
    await expect(open()).rejects.toThrow(
      new RegExp(
        `has no checkpoint key at .*checkpoint-key.pem: restore that file from a backup of this ledger \\(the key with id ${keyId}\\)`,
      ),
    );
    expect(existsSync(join(dir, "checkpoint-key.pem"))).toBe(false);
    // Even when ledger.json went with it: the entries name the key.
    rmSync(join(dir, "ledger.json"));
    await expect(open()).rejects.toThrow(new RegExp(`the key with id ${keyId}`));
    expect(existsSync(join(dir, "checkpoint-key.pem"))).toBe(false);
  });

  it("a key that is not the ledger's is refused, naming both key ids", async () => {
    const keyId = await ledgerWith(2);
    const pem = otherKeyPem();
    writeFileSync(join(dir, "checkpoint-key.pem"), pem);
    const otherId = keyIdOf(createPublicKey(createPrivateKey(pem)));
    await expect(open()).rejects.toThrow(
      `has key id ${otherId}, but the ledger was created with key id ${keyId}`,
    );
    // Replacing ledger.json along with the key does not help: the entries name the old key.
    rmSync(join(dir, "ledger.json"));
    await expect(open()).rejects.toThrow(
      `entry 0 was recorded by file:${keyId}, not by the ledger's key file:${otherId}`,
    );
  });

  it("an entry recorded by another key fails the audit at that entry; as the last entry it stops the writer", async () => {
    const keyId = await ledgerWith(6);
    const stranger = `file:${"ab".repeat(16)}`;
    rewriteRecorder(dir, 3, stranger);
    const audit = await auditFileLedger(dir);
    expect(audit.problem).toEqual({
      index: 3,
      message: `recorded by ${stranger}, not by the ledger's key file:${keyId}`,
    });
    rewriteRecorder(dir, 5, stranger);
    await expect(open()).rejects.toThrow(
      `entry 5 was recorded by ${stranger}, not by the ledger's key file:${keyId}`,
    );
  });

  it("a ledger made before identity files gets one from its key, once the key matches its entries", async () => {
    const keyId = await ledgerWith(3);
    rmSync(join(dir, "ledger.json"));
    expect((await auditFileLedger(dir)).problem?.message).toMatch(/ledger.json is missing/);
    const ledger = await open();
    expect(ledger.origin.keyId).toBe(keyId);
    await ledger.close();
    expect(warnings).toContainEqual(`pinned the ledger's identity: key id ${keyId}, written to ledger.json`);
    expect(identityFile()["keyId"]).toBe(keyId);
    expect((await auditFileLedger(dir)).problem).toBeUndefined();
  });

  it("an audit with the key pinned from outside refuses a directory whose identity, key, checkpoint and entries were all replaced", async () => {
    const keyId = await ledgerWith(3);
    const forged = tempDir();
    try {
      const forger = await FileLedger.open(forged.dir);
      await forger.append(entries(0, 3));
      await forger.checkpoint();
      await forger.close();
      // Self-consistent: only a key pinned out of band tells it from the real ledger.
      expect((await auditFileLedger(forged.dir)).problem).toBeUndefined();
      const pinned = await auditFileLedger(forged.dir, [], { keyId });
      expect(pinned.problem?.message).toMatch(
        new RegExp(`the ledger's key is [0-9a-f]{32} \\(ledger.json\\), not the pinned ${keyId}`),
      );
      const publicKey = createPublicKey(createPrivateKey(readFileSync(join(dir, "checkpoint-key.pem"))));
      expect((await auditFileLedger(dir, [], { publicKey })).problem).toBeUndefined();
      expect((await auditFileLedger(forged.dir, [], { publicKey })).problem?.message).toMatch(
        /not the pinned/,
      );
    } finally {
      forged.remove();
    }
  });
});
