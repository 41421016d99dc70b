// Every ledger command against ic://: the CLI as a child process, the compiled canister on the
// IC host behind a real HTTP port, the identity from a PEM file.
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityFromPem } from "../../src/ledger/ic/identity.ts";
import { toHex } from "../../src/ledger/index.ts";
import { CANISTER_ID, hostedCanister, skipHosted, skipReason, type Hosted } from "../ichost/hosted.ts";
import { serveGateway } from "../ichost/serve.ts";
import { entries, sampleEntry, tempDir } from "../ledger/fixtures.ts";
import { runCliAsync, type CliRun } from "./run-cli.ts";

if (skipHosted) console.log(`SKIP ic CLI suite: ${skipReason}`);

// Each test runs several CLI processes in a row, each one starting Node and the agent (about
// 2 s) and verifying certificates against the hosted canister: 30 s is too close on 2 cores.
describe.skipIf(skipHosted)("modelchain ledger commands against ic://", { timeout: 120_000 }, () => {
  const { dir, remove } = tempDir("modelchain-cli-ic-");
  let hosted: Hosted;
  let server: { url: string; close(): Promise<void> };
  let ledger: string;
  let rootKeyHex: string;
  const cli = (args: string[], input?: string) =>
    runCliAsync(args, input, { MODELCHAIN_IC_IDENTITY: join(dir, "identity.pem") });
  const json = (run: CliRun): Record<string, unknown> => {
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(join(dir, "identity.pem"), pem);
    hosted = await hostedCanister({ controller: identityFromPem(pem) });
    server = await serveGateway(hosted.gateway);
    rootKeyHex = toHex(hosted.key.der);
    ledger = `ic://${CANISTER_ID}?host=${encodeURIComponent(server.url)}&rootKey=${rootKeyHex}`;
    json(await cli(["append", "--ledger", ledger], JSON.stringify(sampleEntry(0))));
    writeFileSync(join(dir, "batch.json"), JSON.stringify(entries(1, 9)));
    json(await cli(["append", "--ledger", ledger, "--file", join(dir, "batch.json")]));
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    remove();
  });

  it("append records as the PEM's principal; the same key again is a duplicate", async () => {
    const again = json(await cli(["append", "--ledger", ledger], JSON.stringify(sampleEntry(3))));
    expect(again).toMatchObject({ index: 3, duplicate: true, size: 10 });
    const shown = json(await cli(["show", "--ledger", ledger, "--index", "3"]));
    expect(shown["entry"]).toEqual(sampleEntry(3));
    expect(shown["recordedBy"]).toBe(hosted.controller.getPrincipal().toText());
  });

  it("root, proof and consistency answer with what the canister proves, and verify-proof checks them offline", async () => {
    const head = json(await cli(["root", "--ledger", ledger]));
    expect(head["size"]).toBe(10);
    const past = json(await cli(["root", "--ledger", ledger, "--size", "6"]));
    const proof = await cli(["proof", "--ledger", ledger, "--index", "4", "--size", "10"]);
    writeFileSync(join(dir, "proof.json"), json(proof) && proof.stdout);
    writeFileSync(
      join(dir, "leaf.bin"),
      (await cli(["show", "--ledger", ledger, "--index", "4", "--raw"])).stdoutBytes,
    );
    const checkpoint = await cli(["checkpoint", "--ledger", ledger]);
    expect(json(checkpoint)).toMatchObject({ origin: "ic", size: 10, root: head["root"] });
    writeFileSync(join(dir, "cp10.json"), checkpoint.stdout);
    const ok = await cli([
      "verify-proof",
      "--proof",
      join(dir, "proof.json"),
      "--leaf",
      join(dir, "leaf.bin"),
      "--checkpoint",
      join(dir, "cp10.json"),
      "--ic-root-key",
      rootKeyHex,
      "--canister",
      CANISTER_ID,
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`signed by ic:${CANISTER_ID}`);
    const otherCanister = await cli([
      "verify-proof",
      "--proof",
      join(dir, "proof.json"),
      "--leaf",
      join(dir, "leaf.bin"),
      "--checkpoint",
      join(dir, "cp10.json"),
      "--ic-root-key",
      rootKeyHex,
      "--canister",
      "aaaaa-aa",
    ]);
    expect(otherCanister.status).toBe(1);
    expect(otherCanister.stderr).toMatch(
      /signed by key ic:uxrrr-q7777-77774-qaaaq-cai, not by the ledger's key ic:aaaaa-aa/,
    );
    // Without the pinned key, the certificate must chain to the IC mainnet key, and does not.
    const unpinned = await cli([
      "verify-proof",
      "--proof",
      join(dir, "proof.json"),
      "--leaf",
      join(dir, "leaf.bin"),
      "--checkpoint",
      join(dir, "cp10.json"),
    ]);
    expect(unpinned.status).toBe(1);
    expect(unpinned.stderr).toMatch(/does not verify for canister [a-z0-9-]+ under the root key/);
    const consistency = await cli(["consistency", "--ledger", ledger, "--from", "6", "--to", "10"]);
    expect(json(consistency)).toMatchObject({
      from: 6,
      to: 10,
      fromRoot: past["root"],
      toRoot: head["root"],
    });
  });

  it("verify-consistency checks two ic checkpoints, and verify audits every entry against them", async () => {
    json(await cli(["append", "--ledger", ledger], JSON.stringify(sampleEntry(10))));
    const cp11 = await cli(["checkpoint", "--ledger", ledger]);
    writeFileSync(join(dir, "cp11.json"), json(cp11) && cp11.stdout);
    const c = await cli(["consistency", "--ledger", ledger, "--from", "10", "--to", "11"]);
    writeFileSync(join(dir, "c.json"), json(c) && c.stdout);
    const ok = await cli([
      "verify-consistency",
      "--proof",
      join(dir, "c.json"),
      "--old",
      join(dir, "cp10.json"),
      "--new",
      join(dir, "cp11.json"),
      "--ic-root-key",
      rootKeyHex,
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/extends the tree at size 10/);
    const audit = await cli([
      "verify",
      "--ledger",
      ledger,
      "--checkpoint",
      join(dir, "cp10.json"),
      join(dir, "cp11.json"),
      "--ic-root-key",
      rootKeyHex,
    ]);
    expect(audit.status, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(
      new RegExp(`^ok: 11 entries, root [0-9a-f]{64}, key ic:${CANISTER_ID}, 2 checkpoint\\(s\\) consistent`),
    );
    const forged = {
      ...(JSON.parse(
        await import("node:fs").then((fs) => fs.readFileSync(join(dir, "cp10.json"), "utf8")),
      ) as Record<string, unknown>),
      root: "ab".repeat(32),
    };
    writeFileSync(join(dir, "forged.json"), JSON.stringify(forged));
    const refused = await cli([
      "verify",
      "--ledger",
      ledger,
      "--checkpoint",
      join(dir, "forged.json"),
      "--ic-root-key",
      rootKeyHex,
    ]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/verify failed at entry 10: .*certified data/);
    // Another canister's checkpoint does not speak for this ledger, however valid.
    writeFileSync(
      join(dir, "elsewhere.json"),
      JSON.stringify({
        ...forged,
        root: (JSON.parse(cp11.stdout) as { root: string }).root,
        keyId: "ic:aaaaa-aa",
      }),
    );
    const elsewhere = await cli([
      "verify",
      "--ledger",
      ledger,
      "--checkpoint",
      join(dir, "elsewhere.json"),
      "--ic-root-key",
      rootKeyHex,
    ]);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toMatch(/signed by key ic:aaaaa-aa, not by the ledger's key ic:uxrrr/);
  });

  it("a bad ic:// URL or identity is a usage error that says what is wrong", async () => {
    const unknown = await cli(["root", "--ledger", `${ledger}&colour=blue`]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown parameter colour/);
    const noIdentity = await runCliAsync(["root", "--ledger", ledger], undefined, {
      MODELCHAIN_IC_IDENTITY: join(dir, "missing.pem"),
    });
    expect(noIdentity.status).toBe(2);
    expect(noIdentity.stderr).toMatch(/identity .*missing\.pem/);
    const anonymous = await runCliAsync(["append", "--ledger", ledger], JSON.stringify(sampleEntry(50)), {
      MODELCHAIN_IC_IDENTITY: "",
    });
    expect(anonymous.status).toBe(1);
    expect(anonymous.stderr).toMatch(/unauthorized: caller 2vxsx-fae may not append/);
  });
});
