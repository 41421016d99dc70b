// The ledger's identity and derived files through the CLI, as a child process on real
// directories: which key speaks for the ledger, and what the commands do when a file is lost,
// replaced or zeroed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileLedger, signCheckpoint } from "../../src/ledger/index.ts";
import { entries, sampleEntry, tempDir } from "../ledger/fixtures.ts";
import { otherKeyPem, rewriteRecorder, zeroTreeNode } from "../ledger/disk-edits.ts";
import { runCli } from "./run-cli.ts";

const { dir, remove } = tempDir("modelchain-identity-cli-");
const ledger = join(dir, "ledger");
let keyId = "";
let copies = 0;
afterAll(() => remove());

/** A copy of the ledger directory to damage. */
function copy(): string {
  const to = join(dir, `copy-${copies++}`);
  cpSync(ledger, to, { recursive: true });
  return to;
}

beforeAll(() => {
  writeFileSync(join(dir, "batch.json"), JSON.stringify(entries(0, 40)));
  const appended = runCli(["append", "--ledger", ledger, "--file", join(dir, "batch.json")]);
  expect(appended.status, appended.stderr).toBe(0);
  const checkpoint = runCli(["checkpoint", "--ledger", ledger]);
  expect(checkpoint.status, checkpoint.stderr).toBe(0);
  keyId = (JSON.parse(checkpoint.stdout) as { keyId: string }).keyId;
  writeFileSync(join(dir, "cp.json"), checkpoint.stdout);
}, 120_000);

describe("the ledger's key through the CLI", () => {
  it("verify names the ledger's key; --key-id pins it, and another key id fails", () => {
    const ok = runCli(["verify", "--ledger", ledger]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(
      `ok: 40 entries, root ${JSON.parse(readFileSync(join(dir, "cp.json"), "utf8")).root}, key ${keyId}, 1 checkpoint(s) consistent\nok: 1 published checkpoint(s) extended\n`,
    );
    const pinned = runCli(["verify", "--ledger", ledger, "--key-id", keyId]);
    expect(pinned.status, pinned.stderr).toBe(0);
    expect(pinned.stdout).toContain(`key ${keyId} (pinned)`);
    const other = "0f".repeat(16);
    const wrong = runCli(["verify", "--ledger", ledger, "--key-id", other]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(
      `verify failed: the ledger's key is ${keyId} (ledger.json), not the pinned ${other}`,
    );
  }, 120_000);

  it("a checkpoint.json re-signed by another key stops append and fails verify, naming both key ids", () => {
    const damaged = copy();
    const honest = JSON.parse(readFileSync(join(damaged, "checkpoint.json"), "utf8")) as {
      size: number;
      root: string;
    };
    const resigned = signCheckpoint(honest, createPrivateKey(otherKeyPem()), new Date());
    writeFileSync(join(damaged, "checkpoint.json"), JSON.stringify(resigned));
    const both = `signed by key ${resigned.keyId}, not by the ledger's key ${keyId}`;
    const append = runCli(["append", "--ledger", damaged], JSON.stringify(sampleEntry(99)));
    expect(append.status).toBe(1);
    expect(append.stderr).toContain(both);
    const verify = runCli(["verify", "--ledger", damaged]);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toContain(both);
  }, 120_000);

  it("a missing key on a ledger with history stops append with how to restore it; verify still passes", () => {
    const damaged = copy();
    rmSync(join(damaged, "checkpoint-key.pem"));
    const append = runCli(["append", "--ledger", damaged], JSON.stringify(sampleEntry(99)));
    expect(append.status).toBe(1);
    expect(append.stderr).toMatch(
      new RegExp(`restore that file from a backup of this ledger \\(the key with id ${keyId}\\)`),
    );
    expect(existsSync(join(damaged, "checkpoint-key.pem"))).toBe(false);
    const verify = runCli(["verify", "--ledger", damaged]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^ok: 40 entries, .*key ${keyId}`));
  }, 120_000);

  it("an entry recorded by another key fails verify at that entry", () => {
    const damaged = copy();
    rewriteRecorder(damaged, 2, `file:${"ab".repeat(16)}`);
    const verify = runCli(["verify", "--ledger", damaged]);
    expect(verify.status).toBe(1);
    expect(verify.stderr).toContain(
      `verify failed at entry 2: recorded by file:${"ab".repeat(16)}, not by the ledger's key file:${keyId}`,
    );
  }, 120_000);

  it("verify-proof takes the ledger's public key pinned from outside and refuses a checkpoint by another key", () => {
    const pub = createPublicKey(createPrivateKey(readFileSync(join(ledger, "checkpoint-key.pem"))));
    writeFileSync(join(dir, "ledger.pub.pem"), pub.export({ type: "spki", format: "pem" }));
    writeFileSync(join(dir, "proof.json"), runCli(["proof", "--ledger", ledger, "--index", "7"]).stdout);
    writeFileSync(
      join(dir, "leaf.bin"),
      runCli(["show", "--ledger", ledger, "--index", "7", "--raw"]).stdoutBytes,
    );
    const args = ["verify-proof", "--proof", join(dir, "proof.json"), "--leaf", join(dir, "leaf.bin")];
    const ok = runCli([
      ...args,
      "--checkpoint",
      join(dir, "cp.json"),
      "--public-key",
      join(dir, "ledger.pub.pem"),
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`signed by ${keyId} \\(pinned\\)\\n$`));
    const other = "0f".repeat(16);
    const refused = runCli([...args, "--checkpoint", join(dir, "cp.json"), "--key-id", other]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`signed by key ${keyId}, not by the ledger's key ${other}`);
  }, 120_000);
});

describe("derived files through the CLI", () => {
  it("proof and root --size are right over a zeroed tree node", async () => {
    const honest = await FileLedger.open(ledger, { readOnly: true });
    const [root37, proof13] = [await honest.root(37), await honest.inclusionProof(13, 40)];
    await honest.close();
    const damaged = copy();
    zeroTreeNode(damaged, 3, 0);
    zeroTreeNode(damaged, 2, 8);
    const root = runCli(["root", "--ledger", damaged, "--size", "37"]);
    expect(root.status, root.stderr).toBe(0);
    expect(JSON.parse(root.stdout)).toEqual({ size: 37, root: root37 });
    const proof = runCli(["proof", "--ledger", damaged, "--index", "13"]);
    expect(proof.status, proof.stderr).toBe(0);
    expect(JSON.parse(proof.stdout)).toEqual(proof13);
    writeFileSync(join(dir, "damaged-proof.json"), proof.stdout);
    writeFileSync(
      join(dir, "leaf13.bin"),
      runCli(["show", "--ledger", damaged, "--index", "13", "--raw"]).stdoutBytes,
    );
    const verified = runCli([
      "verify-proof",
      "--proof",
      join(dir, "damaged-proof.json"),
      "--leaf",
      join(dir, "leaf13.bin"),
      "--checkpoint",
      join(dir, "cp.json"),
      "--key-id",
      keyId,
    ]);
    expect(verified.status, verified.stderr).toBe(0);
  }, 120_000);
});
