import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "./run-cli.ts";
import { entries, sampleEntry, tempDir } from "../ledger/fixtures.ts";

const { dir, remove } = tempDir("modelchain-cli-");
const ledger = join(dir, "ledger");
afterAll(() => remove());

function json(run: { status: number; stdout: string; stderr: string }): Record<string, unknown> {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

beforeAll(() => {
  json(runCli(["append", "--ledger", ledger], JSON.stringify(sampleEntry(0))));
  writeFileSync(join(dir, "batch.json"), JSON.stringify(entries(1, 9)));
  json(runCli(["append", "--ledger", ledger, "--file", join(dir, "batch.json")]));
});

// Several tests run a dozen CLI processes each (about 2 s of Node start-up apiece on 2 cores).
describe("modelchain ledger commands", { timeout: 120_000 }, () => {
  it("append prints a receipt, and the same key again is a duplicate with the same index", () => {
    const again = json(runCli(["append", "--ledger", ledger], JSON.stringify(sampleEntry(3))));
    expect(again).toMatchObject({ index: 3, duplicate: true, size: 10 });
    expect(Object.keys(again).sort()).toEqual(["duplicate", "index", "leafHash", "root", "size"]);
  });

  it("show --raw writes exactly the bytes whose RFC 6962 leaf hash the proof names", () => {
    const raw = runCli(["show", "--ledger", ledger, "--index", "4", "--raw"]).stdoutBytes;
    const proof = json(runCli(["proof", "--ledger", ledger, "--index", "4"]));
    const leafHash = createHash("sha256")
      .update(Buffer.from([0]))
      .update(raw)
      .digest("hex");
    expect(leafHash).toBe(proof["leafHash"]);
    const shown = json(runCli(["show", "--ledger", ledger, "--index", "4"]));
    expect(shown["entry"]).toEqual(sampleEntry(4));
  });

  it("verify-proof checks a proof offline against a signed checkpoint, and fails on a changed leaf", () => {
    const checkpoint = json(runCli(["checkpoint", "--ledger", ledger]));
    expect(checkpoint).toMatchObject({ size: 10, origin: "file" });
    writeFileSync(join(dir, "cp.json"), JSON.stringify(checkpoint));
    writeFileSync(join(dir, "proof.json"), runCli(["proof", "--ledger", ledger, "--index", "7"]).stdout);
    const raw = runCli(["show", "--ledger", ledger, "--index", "7", "--raw"]).stdoutBytes;
    writeFileSync(join(dir, "leaf.bin"), raw);
    const ok = runCli([
      "verify-proof",
      "--proof",
      join(dir, "proof.json"),
      "--leaf",
      join(dir, "leaf.bin"),
      "--checkpoint",
      join(dir, "cp.json"),
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: entry 7 is in the tree of size 10/);
    writeFileSync(join(dir, "leaf.bin"), Buffer.from(raw.toString().replace("md-7", "md-8")));
    const bad = runCli(["verify-proof", "--proof", join(dir, "proof.json"), "--leaf", join(dir, "leaf.bin")]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/leaf hash [0-9a-f]{64} is not the proof's/);
  });

  it("verify-consistency accepts an appended-to history and rejects a rewritten one", () => {
    const copy = tempDir("modelchain-cli-rewrite-");
    try {
      const honest = join(copy.dir, "honest");
      runCli(["append", "--ledger", honest], JSON.stringify(entries(0, 5)));
      writeFileSync(join(copy.dir, "old.json"), runCli(["checkpoint", "--ledger", honest]).stdout);
      runCli(["append", "--ledger", honest], JSON.stringify(entries(5, 4)));
      writeFileSync(join(copy.dir, "new.json"), runCli(["checkpoint", "--ledger", honest]).stdout);
      writeFileSync(
        join(copy.dir, "c.json"),
        runCli(["consistency", "--ledger", honest, "--from", "5"]).stdout,
      );
      const ok = runCli([
        "verify-consistency",
        "--proof",
        join(copy.dir, "c.json"),
        "--old",
        join(copy.dir, "old.json"),
        "--new",
        join(copy.dir, "new.json"),
      ]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/extends the tree at size 5/);
      // A different history of the same length, signed with the same (stolen) ledger key.
      const forged = join(copy.dir, "forged");
      mkdirSync(forged);
      copyFileSync(join(honest, "checkpoint-key.pem"), join(forged, "checkpoint-key.pem"));
      runCli(["append", "--ledger", forged], JSON.stringify([...entries(100, 5), ...entries(5, 4)]));
      writeFileSync(
        join(copy.dir, "c2.json"),
        runCli(["consistency", "--ledger", forged, "--from", "5"]).stdout,
      );
      writeFileSync(join(copy.dir, "new2.json"), runCli(["checkpoint", "--ledger", forged]).stdout);
      const bad = runCli([
        "verify-consistency",
        "--proof",
        join(copy.dir, "c2.json"),
        "--old",
        join(copy.dir, "old.json"),
        "--new",
        join(copy.dir, "new2.json"),
      ]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/does not extend the older one/);
    } finally {
      copy.remove();
    }
  });

  it("consistency and root agree with each other", () => {
    const c = json(runCli(["consistency", "--ledger", ledger, "--from", "3"]));
    const r3 = json(runCli(["root", "--ledger", ledger, "--size", "3"]));
    expect(c["fromRoot"]).toBe(r3["root"]);
    expect((c["proof"] as string[]).every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  });

  it("verify passes on a clean ledger and names the first bad entry after an edit", () => {
    const ok = runCli(["verify", "--ledger", ledger, "--checkpoint", join(dir, "cp.json")]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: 10 entries, root [0-9a-f]{64}/);
    const copy = tempDir("modelchain-cli-tamper-");
    try {
      runCli(["append", "--ledger", copy.dir], JSON.stringify(entries(0, 6)));
      const segDir = join(copy.dir, "segments");
      const seg = join(segDir, readdirSync(segDir)[0] ?? "");
      writeFileSync(seg, readFileSync(seg).toString("latin1").replace("md-4", "md-X"), "latin1");
      const bad = runCli(["verify", "--ledger", copy.dir]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toMatch(/verify failed at entry 4/);
    } finally {
      copy.remove();
    }
  });

  it("exits 2 with a clear message on bad flags and bad input", () => {
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [["proof", "--ledger", ledger, "--index", "-1"], undefined, /--index/],
      [["proof", "--ledger", ledger, "--index", "99"], undefined, /index 99 out of range for size 10/],
      [["append", "--ledger", ledger], "{not json", /standard input is not valid JSON/],
      [
        ["append", "--ledger", ledger],
        JSON.stringify({ ...sampleEntry(50), subject: { kind: "X" } }),
        /subject.apiVersion must be a non-empty string/,
      ],
      [["show", "--ledger", join(dir, "nowhere"), "--index", "0"], undefined, /holds no ledger/],
      [["verify", "--ledger", join(dir, "nowhere")], undefined, /holds no ledger/],
      [["root", "--ledger", "s3://bucket"], undefined, /unknown scheme/],
      [
        ["verify-proof", "--proof", join(dir, "missing.json"), "--leaf", join(dir, "leaf.bin")],
        undefined,
        /cannot read/,
      ],
      [["frobnicate"], undefined, /unknown command/],
    ];
    for (const [args, input, message] of cases) {
      const run = runCli(args, input);
      expect(run.status, args.join(" ")).toBe(2);
      expect(run.stderr, args.join(" ")).toMatch(message);
    }
  });
});
