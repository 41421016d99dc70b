// Appends until killed, printing each acknowledged key: the parent kills it at a random
// moment and checks that every printed key survived.
import { FileLedger } from "../../src/ledger/file/index.ts";
import { sampleEntry } from "./fixtures.ts";

const [dir, run] = process.argv.slice(2);
if (dir === undefined || run === undefined) throw new Error("usage: crash-child DIR RUN");
const ledger = await FileLedger.open(dir, { warn: (m) => process.stderr.write(`${m}\n`) });
process.stdout.write("READY\n");
for (let n = 0; ; n++) {
  const batch = Array.from({ length: 1 + (n % 7) }, (_, i) => ({
    ...sampleEntry(n),
    key: `run-${run}-${n}-${i}`,
  }));
  const concurrent = await Promise.all([ledger.append(batch.slice(0, 3)), ledger.append(batch.slice(3))]);
  process.stdout.write(`ACK ${concurrent.flat().length} ${batch.map((e) => e.key).join(" ")}\n`);
}
