// Published checkpoints through the CLI as a user runs it (child processes): a reader gets one
// while the writer holds the lock, from the directory or the writer's HTTP port; witnesses
// co-sign them and `verify` requires a quorum; and the attack the README describes — the
// directory rewritten with the ledger's own key, segments, index and a re-signed checkpoint —
// which the directory's own files cannot show, is caught by a witness, by a quorum verify and
// by a reader that kept an older checkpoint, each naming both heads.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkpointRoutes,
  COSIGNATURE_V1,
  FileLedger,
  noteVerifier,
  vkeyOf,
} from "../../src/ledger/index.ts";
import { startMetricsServer, type MetricsServer } from "../../src/metrics/index.ts";
import { entries, tempDir } from "../ledger/fixtures.ts";
import { runCliAsync, type CliRun } from "./run-cli.ts";

const ok = (run: CliRun): CliRun => {
  expect(run.status, run.stderr).toBe(0);
  return run;
};

describe("published checkpoints, witnesses and forks through the CLI", { timeout: 600_000 }, () => {
  const { dir, remove } = tempDir("modelchain-cli-witness-");
  const ledgerDir = join(dir, "ledger");
  let writer: FileLedger | undefined;
  let server: MetricsServer;
  let url: string;
  const witnesses = ["w1", "w2"].map((n) => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const key = join(dir, `${n}.pem`);
    writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
    const name = `witness.example/${n}`;
    return {
      name,
      key,
      state: join(dir, `${n}-state`),
      vkey: vkeyOf(noteVerifier(name, COSIGNATURE_V1, publicKey)),
    };
  });
  const [w1, w2] = witnesses as [(typeof witnesses)[0], (typeof witnesses)[0]];
  const witness = (w: typeof w1, from: string, out: string) =>
    runCliAsync([
      "witness",
      "--from",
      from,
      "--key",
      w.key,
      "--name",
      w.name,
      "--state-dir",
      w.state,
      "--out",
      out,
    ]);
  const cosigned = (n: string) => join(dir, `${n}.note`);
  let honestRoot5 = "";

  beforeAll(async () => {
    mkdirSync(ledgerDir);
    writer = await FileLedger.open(ledgerDir);
    await writer.append(entries(0, 5));
    honestRoot5 = (await writer.checkpoint()).root;
    const live = writer;
    server = await startMetricsServer(
      0,
      "127.0.0.1",
      checkpointRoutes(ledgerDir, () => live),
    );
    url = server.url.replace(/\/metrics$/, "");
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await writer?.close();
    remove();
  });

  it("a reader gets the published checkpoint while the writer holds the lock, from the directory, over HTTP and in history", async () => {
    await writer!.append(entries(5, 3));
    const fromDir = ok(await runCliAsync(["checkpoint", "--ledger", ledgerDir]));
    expect(JSON.parse(fromDir.stdout)).toMatchObject({ size: 5, root: honestRoot5, origin: "file" });
    expect(fromDir.stderr).toMatch(
      /locked for writing by pid \d+ .*: printing the latest checkpoint it published/,
    );
    const published = ok(await runCliAsync(["checkpoint", "--ledger", ledgerDir, "--published", "--note"]));
    expect(published.stdout).toBe(readFileSync(join(ledgerDir, "checkpoint.note"), "utf8"));
    const logKey = (JSON.parse(fromDir.stdout) as { logKey: string }).logKey;
    const kept = join(dir, "reader-kept.note");
    const overHttp = ok(
      await runCliAsync(["checkpoint", "--ledger", url, "--log-key", logKey, "--kept", kept]),
    );
    expect(JSON.parse(overHttp.stdout)).toMatchObject({ size: 5, root: honestRoot5, note: published.stdout });
    expect(readFileSync(kept, "utf8")).toBe(published.stdout);
    const history = ok(await runCliAsync(["history", "ml/md-2", "--ledger", ledgerDir, "-o", "table"]));
    expect(history.stdout).toContain(`signed checkpoint: size 5, root ${honestRoot5}, key `);
    const signLocked = await runCliAsync(["checkpoint", "--ledger", ledgerDir, "--sign"]);
    expect(signLocked.status).toBe(1);
    expect(signLocked.stderr).toMatch(/locked for writing by pid/);
  });

  it("witnesses co-sign over HTTP and from the directory, and verify needs M of N of them", async () => {
    const vkey = ok(
      await runCliAsync(["witness", "--key", w1.key, "--name", w1.name, "--print-vkey"]),
    ).stdout.trim();
    expect(vkey).toBe(w1.vkey);
    const logKey = JSON.parse(ok(await runCliAsync(["checkpoint", "--ledger", ledgerDir])).stdout).logKey;
    // Over HTTP the log's key must be given: the port cannot vouch for itself.
    const unkeyed = await witness(w1, url, cosigned("w1-5"));
    expect(unkeyed.status).toBe(2);
    expect(unkeyed.stderr).toMatch(/give the log's key with --log-key/);
    ok(
      await runCliAsync([
        "witness",
        "--from",
        url,
        "--log-key",
        logKey,
        "--key",
        w1.key,
        "--name",
        w1.name,
        "--state-dir",
        w1.state,
        "--out",
        cosigned("w1-5"),
      ]),
    );
    await writer!.checkpoint();
    const again = ok(
      await runCliAsync([
        "witness",
        "--from",
        url,
        "--log-key",
        logKey,
        "--key",
        w1.key,
        "--name",
        w1.name,
        "--state-dir",
        w1.state,
        "--out",
        cosigned("w1-8"),
      ]),
    );
    expect(again.stdout).toMatch(/^modelchain\.io\/ledger\/[0-9a-f]{32}\n8\n/);
    expect(again.stdout).toContain(`\u2014 ${w1.name} `);
    ok(await witness(w2, ledgerDir, cosigned("w2-8")));
    const both = ok(
      await runCliAsync([
        "verify",
        "--ledger",
        ledgerDir,
        "--witness-key",
        w1.vkey,
        "--witness-key",
        w2.vkey,
        "--witness-quorum",
        "2",
        "--cosigned",
        cosigned("w1-5"),
        cosigned("w1-8"),
        cosigned("w2-8"),
      ]),
    );
    expect(both.stdout).toMatch(
      /ok: witnesses: size 8 root [0-9a-f]{64} co-signed by 2 of 2 witnesses \(witness\.example\/w1, witness\.example\/w2; quorum 2\)/,
    );
    expect(both.stdout).toContain("ok: 2 published checkpoint(s) extended");
    const short = await runCliAsync([
      "verify",
      "--ledger",
      ledgerDir,
      "--witness-key",
      w1.vkey,
      "--witness-key",
      w2.vkey,
      "--cosigned",
      cosigned("w1-8"),
    ]);
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(
      /witness quorum not met: want 2 of 2 co-signatures on one checkpoint; the most: size 8 root [0-9a-f]{64} co-signed by witness\.example\/w1/,
    );
    const badQuorum = await runCliAsync([
      "verify",
      "--ledger",
      ledgerDir,
      "--witness-key",
      w1.vkey,
      "--witness-quorum",
      "3",
      "--cosigned",
      cosigned("w1-8"),
    ]);
    expect(badQuorum.status).toBe(2);
    expect(badQuorum.stderr).toMatch(/--witness-quorum 3: want 1 to 1/);
  });

  it("a history rewritten with the ledger's own key passes its own files but is caught by the witness, the quorum and a kept checkpoint", async () => {
    const honestRoot8 = await writer!.root(8);
    await writer!.close();
    writer = undefined;
    // The attacker holds the key: a different history of the same entries' shape, longer, re-signed.
    const forged = join(dir, "forged");
    mkdirSync(forged);
    cpSync(join(ledgerDir, "checkpoint-key.pem"), join(forged, "checkpoint-key.pem"));
    cpSync(join(ledgerDir, "ledger.json"), join(forged, "ledger.json"));
    const f = await FileLedger.open(forged);
    await f.append([...entries(100, 5), ...entries(5, 5)]);
    await f.checkpoint();
    await f.close();
    rmSync(ledgerDir, { recursive: true });
    cpSync(forged, ledgerDir, { recursive: true });
    const own = ok(await runCliAsync(["verify", "--ledger", ledgerDir]));
    expect(own.stdout).toMatch(/^ok: 10 entries/);

    const refused = await witness(w1, ledgerDir, cosigned("w1-forged"));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      `witness ${w1.name}: not co-signing: fork: the checkpoint at size 8 root ${honestRoot8} and the one at size 10 root `,
    );
    expect(readFileSync(join(w1.state, readdirNote(w1.state)), "utf8")).toMatch(/\n8\n/);

    const quorum = await runCliAsync([
      "verify",
      "--ledger",
      ledgerDir,
      "--witness-key",
      w1.vkey,
      "--witness-quorum",
      "1",
      "--cosigned",
      cosigned("w1-8"),
    ]);
    expect(quorum.status).toBe(1);
    expect(quorum.stderr).toMatch(
      new RegExp(
        `co-signed by witness\\.example/w1\\): the ledger \\(size 10, root [0-9a-f]{64}\\) does not extend it: fork: the checkpoint at size 8 root ${honestRoot8}`,
      ),
    );

    const reader = await runCliAsync([
      "checkpoint",
      "--ledger",
      ledgerDir,
      "--kept",
      join(dir, "reader-kept.note"),
    ]);
    expect(reader.status).toBe(1);
    expect(reader.stderr).toMatch(
      new RegExp(
        `fork: the checkpoint at size 5 root ${honestRoot5} and the one at size 10 root [0-9a-f]{64} are not one history: the consistency proof fails`,
      ),
    );
  });
});

function readdirNote(dir: string): string {
  const [name] = readdirSync(dir);
  return name ?? "";
}
