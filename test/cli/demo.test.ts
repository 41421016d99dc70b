import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.ts";
import { tempDir } from "../ledger/fixtures.ts";

const state = tempDir("modelchain-demo-");
afterAll(() => state.remove());

describe("modelchain demo", () => {
  it("records the sample chain and rollout, shows history and verify, and adds nothing when run again", () => {
    const first = runCli(["demo", "--state-dir", state.dir]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/the operator recorded 5 new ledger entries \(0 were there before\)/);
    expect(first.stdout).toMatch(
      /ModelVersionRegistered ml\/mistral-7b-support-v2: .* parents \[ml\/mistral-7b-base\] verified/,
    );
    expect(first.stdout).toMatch(/RolloutCompleted: .*\(proof ok\)/);
    expect(first.stdout).toMatch(
      /ArtifactVerified: revision 1: artifact sha256:[0-9a-f]{64} verified by the kubelet/,
    );
    const verified = /ok: 5 entries, root ([0-9a-f]{64})/.exec(first.stdout);
    expect(verified).not.toBeNull();
    const second = runCli(["demo", "--state-dir", state.dir]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/recorded 0 new ledger entries \(5 were there before\)/);
    expect(second.stdout).toContain(`ok: 5 entries, root ${verified?.[1]}`);
  });
});
