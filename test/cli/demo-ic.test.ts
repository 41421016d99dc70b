// The operator's demo recording into the hosted canister through the ic backend produces the
// same entries as recording into a file ledger; only the envelope's recordedAt/recordedBy (and
// the operator's own observation times) differ.
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/cli/commands/demo.ts";
import { auditLedger, FileLedger, type Ledger, type LedgerEntry } from "../../src/ledger/index.ts";
import { hostedCanister, skipHosted, skipReason } from "../ichost/hosted.ts";
import { tempDir } from "../ledger/fixtures.ts";

if (skipHosted) console.log(`SKIP demo on the hosted canister: ${skipReason}`);

async function recorded(ledger: Ledger): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for (let i = 0, n = await ledger.size(); i < n; i++) out.push((await ledger.get(i)).envelope.entry);
  return out;
}

/** An entry with the times the operator stamps on it when it observes things removed. */
function timeless(e: LedgerEntry): unknown {
  return JSON.parse(JSON.stringify({ ...e, observedAt: "" }), (key, value: unknown) =>
    typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) ? "<time>" : value,
  );
}

describe.skipIf(skipHosted)("the demo against the hosted canister", () => {
  it("records the same entries through the ic backend as into a file ledger, and a second run adds nothing", async () => {
    const quiet = () => undefined;
    const { dir, remove } = tempDir("modelchain-demo-file-");
    try {
      const file = await FileLedger.open(dir);
      const viaFile = await runDemo(file, quiet);
      const fileEntries = await recorded(file);
      await file.close();

      const hosted = await hostedCanister();
      const ic = await hosted.ledger();
      const viaIc = await runDemo(ic, quiet);
      expect(viaIc).toEqual(viaFile);
      expect(viaIc.added).toBeGreaterThanOrEqual(4);
      const icEntries = await recorded(ic);
      expect(icEntries.map((e) => e.key)).toEqual(fileEntries.map((e) => e.key));
      expect(icEntries.map(timeless)).toEqual(fileEntries.map(timeless));

      const again = await runDemo(ic, quiet);
      expect(again).toEqual({ before: viaIc.added, added: 0 });
      const audit = await auditLedger(ic);
      expect(audit.problem).toBeUndefined();
      expect(audit.size).toBe(viaIc.added);
    } finally {
      remove();
    }
  }, 180_000);
});
