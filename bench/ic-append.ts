// Appends through the ic backend into the real compiled canister, here on the IC system-API
// host (test/ichost) since no replica or PocketIC runs on this machine.
//
// Reports, per batch size:
//   - entries/s through the whole backend (HttpAgent + Actor + Candid + the gateway's BLS
//     certificate per call + the canister), and the file backend on the same entries as the
//     baseline in the same run;
//   - entries/s of the canister alone (an update message executed by the host, no agent);
//   - how many typical entries fit the 2 MiB ingress limit, which bounds a batch on the IC.
// The host's wall time is V8's JIT, not the IC's metering: the canister's own
// performance_counter is only meaningful on a replica (see README).
import { performance } from "node:perf_hooks";
import { IDL } from "@dfinity/candid";
import { DEFAULT_BATCH_BYTES, splitBatches } from "../src/ledger/ic/ledger.ts";
import { METHODS } from "../src/ledger/ic/idl.ts";
import { encodeEntry, FileLedger, prepareEntry, type LedgerEntry } from "../src/ledger/index.ts";
import { hostedCanister } from "../test/ichost/hosted.ts";
import { tempDir } from "../test/ledger/fixtures.ts";

if (Number(process.versions.node.split(".")[0]) < 24) {
  console.log(`SKIP ic-append: the canister is wasm64 and needs Node 24 (this is ${process.versions.node})`);
  process.exit(0);
}

let serial = 0;
function entry(): LedgerEntry {
  const n = serial++;
  return {
    v: 1,
    kind: "RolloutCompleted",
    cluster: "bench",
    subject: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: `ns-${n % 50}`,
      name: `serve-${n % 1000}`,
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    },
    key: `ic-bench-${n}`,
    observedAt: "2026-11-25T00:00:00Z",
    data: {
      revision: n,
      image: `registry.example/serve@sha256:${n.toString(16).padStart(64, "0")}`,
      replicas: 3,
    },
  };
}

const typical = encodeEntry(entry()).byteLength;
const perIngress =
  splitBatches(
    Array.from({ length: 20_000 }, () => prepareEntry(entry())),
    DEFAULT_BATCH_BYTES,
  )[0]?.length ?? 0;
console.log(
  `typical entry: ${typical} bytes of canonical JSON; ${perIngress} such entries fit one ${DEFAULT_BATCH_BYTES}-byte batch (ingress limit 2 MiB)`,
);

const TOTAL = Number(process.env["BENCH_IC_ENTRIES"] ?? 2048);
const rows: string[] = [];
const perEntryByBatch = new Map<number, number>();
for (const batch of [1, 16, 128, 512]) {
  const rounds = Math.max(1, Math.floor((batch === 1 ? TOTAL / 8 : TOTAL) / batch));
  const hosted = await hostedCanister();
  const ledger = await hosted.ledger();
  const { dir, remove } = tempDir("modelchain-bench-ic-");
  const file = await FileLedger.open(dir);

  const batches = Array.from({ length: rounds }, () => Array.from({ length: batch }, entry));
  let t = performance.now();
  for (const b of batches) await ledger.append(b);
  const backendMs = performance.now() - t;

  const fileBatches = Array.from({ length: rounds }, () => Array.from({ length: batch }, entry));
  t = performance.now();
  for (const b of fileBatches) await file.append(b);
  const fileMs = performance.now() - t;

  // The canister alone: Candid-encoded batches executed by the host, no agent, no certificates;
  // then the same batches on a host that counts the wasm instructions each message executes.
  const encoded = Array.from(
    { length: rounds },
    () =>
      new Uint8Array(
        IDL.encode(
          [...METHODS.append.args],
          [
            Array.from({ length: batch }, () => {
              const e = entry();
              return { key: e.key, entry: encodeEntry(e) };
            }),
          ],
        ),
      ),
  );
  t = performance.now();
  for (const arg of encoded) {
    const r = hosted.host.update("append", arg, hosted.controller.getPrincipal());
    if (r.reject !== undefined) throw new Error(r.reject);
  }
  const canisterMs = performance.now() - t;
  const counting = await hostedCanister({ countInstructions: true });
  let instructions = 0n;
  for (const arg of encoded) {
    const r = counting.host.update("append", arg, counting.controller.getPrincipal());
    if (r.reject !== undefined) throw new Error(r.reject);
    instructions += counting.host.lastMessageInstructions;
  }

  const n = rounds * batch;
  const rate = (ms: number) => Math.round(n / (ms / 1000));
  const perEntry = Number(instructions / BigInt(n));
  perEntryByBatch.set(batch, perEntry);
  rows.push(
    `| ${batch} | ${n} | ${rate(backendMs)} | ${rate(fileMs)} | ${(rate(backendMs) / rate(fileMs)).toFixed(3)}× | ${rate(canisterMs)} | ${((canisterMs / n) * 1000).toFixed(0)} µs | ${(perEntry / 1e6).toFixed(2)} M |`,
  );
  await file.close();
  remove();
}
console.log(
  "\n| batch | entries | ic backend entries/s | file backend entries/s (baseline) | ratio | canister alone entries/s | canister µs/entry (host) | wasm instructions/entry |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
const largest = perEntryByBatch.get(512) ?? 0;
const MESSAGE_LIMIT = 40e9;
console.log(
  `\nOn the IC: ${(largest / 1e6).toFixed(2)} M wasm instructions an entry (a lower bound: ic0 calls are charged on top).`,
);
console.log(
  `A full ingress batch of ${perIngress} entries is ${((largest * perIngress) / 1e9).toFixed(1)} B instructions, under the ${MESSAGE_LIMIT / 1e9} B limit of one update message;`,
);
console.log(
  `the goal of 500 entries/s per canister is ${((largest * 500) / 1e9).toFixed(2)} B instructions a second of that canister's execution.`,
);
console.log("The host's wall times are V8's JIT, not the IC's; only the instruction counts carry over.");

// Where a PocketIC server exists, the same backend against a real replica: entries/s through
// HttpAgent into the canister on an application subnet, with the subnet's own certificates.
const pocketIc = process.env["POCKET_IC_BIN"];
if (pocketIc === undefined || pocketIc === "") {
  console.log(
    "\nPocketIC: not measured (POCKET_IC_BIN is not set; point it at a PocketIC server binary to measure entries/s on a replica).",
  );
} else {
  const { Ed25519KeyIdentity } = await import("@dfinity/identity");
  const { IcLedger } = await import("../src/ledger/ic/ledger.ts");
  const { compileCanister } = await import("../test/canister/compile.ts");
  const { NO_ARGS, PocketIcInstance, PocketIcServer } = await import("../test/pocketic/client.ts");
  const server = await PocketIcServer.start({ binary: pocketIc });
  try {
    const pic = await PocketIcInstance.create(server.http, { nns: true, applicationSubnets: 1 });
    const identity = Ed25519KeyIdentity.generate();
    const me = identity.getPrincipal();
    const canisterId = await pic.createCanister({ sender: me, controllers: [me], cycles: 10n ** 15n });
    await pic.installCode({
      sender: me,
      canisterId,
      wasm: (await compileCanister()).wasm,
      arg: NO_ARGS,
      mode: "install",
    });
    const rootKey = await pic.rootKey();
    const host = await pic.makeLive();
    const ledger = await IcLedger.create({ canisterId: canisterId.toText(), host, identity, rootKey });
    console.log("\n| PocketIC batch | entries | entries/s |\n|---|---|---|");
    for (const batch of [16, 128, 512]) {
      const rounds = Math.max(1, Math.floor(TOTAL / batch));
      const t = performance.now();
      for (let r = 0; r < rounds; r++) await ledger.append(Array.from({ length: batch }, entry));
      console.log(
        `| ${batch} | ${rounds * batch} | ${Math.round((rounds * batch) / ((performance.now() - t) / 1000))} |`,
      );
    }
    await pic.delete();
  } finally {
    await server.stop();
  }
}
