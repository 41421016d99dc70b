// Anchoring a file ledger on the IC: a writer's published checkpoints appended, by the anchor
// sink the operator uses, to the real compiled canister on the IC host behind a real HTTP port;
// then `modelchain verify --anchor` as a child process checks the file ledger against every
// anchored root, and catches the rewrite the directory's own files cannot show.
import { generateKeyPairSync } from "node:crypto";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityFromPem } from "../../src/ledger/ic/identity.ts";
import { CheckpointPublisher, FileLedger, originOf, toHex } from "../../src/ledger/index.ts";
import { anchorSink } from "../../src/cli/commands/anchor.ts";
import { CANISTER_ID, hostedCanister, skipHosted, skipReason, type Hosted } from "../ichost/hosted.ts";
import { serveGateway } from "../ichost/serve.ts";
import { entries, tempDir } from "../ledger/fixtures.ts";
import { runCliAsync } from "./run-cli.ts";

if (skipHosted) console.log(`SKIP anchor suite: ${skipReason}`);

describe.skipIf(skipHosted)(
  "file-ledger checkpoints anchored on the ledger canister",
  { timeout: 180_000 },
  () => {
    const { dir, remove } = tempDir("modelchain-anchor-");
    const ledgerDir = join(dir, "ledger");
    let hosted: Hosted;
    let server: { url: string; close(): Promise<void> };
    let anchor: string;
    const published: Array<{ size: number; root: string }> = [];

    beforeAll(async () => {
      const pem = generateKeyPairSync("ed25519")
        .privateKey.export({ type: "pkcs8", format: "pem" })
        .toString();
      writeFileSync(join(dir, "identity.pem"), pem);
      hosted = await hostedCanister({ controller: identityFromPem(pem) });
      server = await serveGateway(hosted.gateway);
      anchor = `ic://${CANISTER_ID}?host=${encodeURIComponent(server.url)}&rootKey=${toHex(hosted.key.der)}&identity=${join(dir, "identity.pem")}`;
      // The canister is shared: entries of other kinds sit among the anchored checkpoints.
      const other = await hosted.ledger();
      await other.append(entries(500, 2));
      mkdirSync(ledgerDir);
      const ledger = await FileLedger.open(ledgerDir);
      const publisher = CheckpointPublisher.start(ledger, {
        everyEntries: 4,
        everySeconds: 3600,
        pollMs: 20,
        sinks: [anchorSink(anchor, "anchor-test")],
        onError: (what, e) => {
          throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
        },
      });
      // The first checkpoint, of the empty ledger, before anything is appended.
      for (let i = 0; i < 400 && publisher.last === undefined; i++)
        await new Promise((r) => setTimeout(r, 25));
      for (const from of [0, 4]) {
        await ledger.append(entries(from, 4));
        for (let i = 0; i < 400 && publisher.last?.size !== from + 4; i++)
          await new Promise((r) => setTimeout(r, 25));
      }
      // Fewer than 4 new entries: published when the writer stops.
      await ledger.append(entries(8, 2));
      await publisher.stop();
      for (const size of [4, 8, 10]) published.push({ size, root: await ledger.root(size) });
      await ledger.close();
    }, 180_000);
    afterAll(async () => {
      await server?.close();
      remove();
    });

    it("records each published checkpoint as an AnchoredCheckpoint entry, stamped by the canister", async () => {
      const ic = await hosted.ledger();
      const size = await ic.size();
      const anchored = [];
      for (let i = 0; i < size; i++) {
        const { envelope } = await ic.get(i);
        if (envelope.entry.kind === "AnchoredCheckpoint") anchored.push(envelope);
      }
      const origin = anchored[0]?.entry.data["origin"];
      expect(origin).toMatch(/^modelchain\.io\/ledger\/[0-9a-f]{32}$/);
      expect(anchored.map((e) => e.entry.data["size"])).toEqual([0, 4, 8, 10]);
      expect(anchored.at(-1)?.entry).toMatchObject({
        kind: "AnchoredCheckpoint",
        key: `AnchoredCheckpoint/${String(origin)}/10`,
        subject: { apiVersion: "modelchain.io/v1alpha1", kind: "Ledger", name: origin },
        data: { size: 10, root: published[2]?.root },
      });
      expect(anchored.every((e) => e.recordedBy === hosted.controller.getPrincipal().toText())).toBe(true);
    });

    it("verify --anchor passes while the file ledger extends every anchored root", async () => {
      const ok = await runCliAsync(["verify", "--ledger", ledgerDir, "--anchor", anchor]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(
        /ok: anchor: consistent with 4 anchored checkpoint\(s\), the latest anchored checkpoint #\d+ \(size 10, root [0-9a-f]{64}, recorded 20\d\d-/,
      );
    });

    it("catches a history rewritten with the ledger's own key, naming the first anchored root it contradicts", async () => {
      const forged = join(dir, "forged");
      mkdirSync(forged);
      cpSync(join(ledgerDir, "checkpoint-key.pem"), join(forged, "checkpoint-key.pem"));
      cpSync(join(ledgerDir, "ledger.json"), join(forged, "ledger.json"));
      const f = await FileLedger.open(forged);
      await f.append([...entries(0, 4), ...entries(100, 8)]);
      await f.checkpoint();
      await f.close();
      const rewritten = join(dir, "rewritten");
      cpSync(forged, rewritten, { recursive: true });
      const own = await runCliAsync(["verify", "--ledger", rewritten]);
      expect(own.status, own.stderr).toBe(0);
      const caught = await runCliAsync(["verify", "--ledger", rewritten, "--anchor", anchor]);
      expect(caught.status).toBe(1);
      // Every anchored root but the empty tree's is contradicted (each leaf commits to when it was
      // recorded); the first is named.
      const [at4] = published.filter((p) => p.size === 4);
      expect(caught.stderr).toMatch(
        new RegExp(
          `anchor: the local ledger \\(size 12, root [0-9a-f]{64}\\) contradicts anchored checkpoint #\\d+ \\(size 4, root ${at4?.root}, recorded [^)]+\\): fork: the checkpoint at size 4 root ${at4?.root} and the one at size 12 root [0-9a-f]{64} are not one history: the consistency proof fails`,
        ),
      );
      // A rewrite under a new key is another ledger: the canister holds nothing of it.
      rmSync(join(rewritten), { recursive: true });
      mkdirSync(rewritten);
      const n = await FileLedger.open(rewritten);
      await n.append(entries(0, 10));
      const keyId = n.origin.keyId ?? "";
      await n.close();
      const stranger = await runCliAsync(["verify", "--ledger", rewritten, "--anchor", anchor]);
      expect(stranger.status).toBe(1);
      expect(stranger.stderr).toContain(`holds no anchored checkpoint of ${originOf(keyId)}`);
    });
  },
);
