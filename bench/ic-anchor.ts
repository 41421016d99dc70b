// What anchoring a file ledger on the IC costs: one AnchoredCheckpoint entry (a real signed
// checkpoint note) a minute, each in its own update call, appended to the real compiled
// canister on the IC host that counts the wasm instructions each message executes — the way
// bench/ic-append.ts measures the cost per million entries. The baseline, in the same run, is
// recording the events themselves on the canister: the same day's entries one call per
// checkpoint interval, batched (the ic backend's path).
import { IDL } from "@dfinity/candid";
import { generateKeyPairSync } from "node:crypto";
import { METHODS } from "../src/ledger/ic/idl.ts";
import {
  encodeEntry,
  originOf,
  signCheckpointNote,
  toHex,
  sha256,
  type LedgerEntry,
} from "../src/ledger/index.ts";
import { anchoredCheckpointEntry } from "../src/trail/index.ts";
import { hostedCanister } from "../test/ichost/hosted.ts";
import { sampleEntry } from "../test/ledger/fixtures.ts";

if (Number(process.versions.node.split(".")[0]) < 24) {
  console.log(`SKIP ic-anchor: the canister is wasm64 and needs Node 24 (this is ${process.versions.node})`);
  process.exit(0);
}

const CALLS = Number(process.env["BENCH_ANCHOR_CALLS"] ?? 240);
const PER_DAY = 1440;
const EVENTS_PER_MINUTE = Number(process.env["BENCH_ANCHOR_EVENTS_PER_MINUTE"] ?? 100);
// The README's prices (13-node application subnet, cycles).
const PRICE = { message: 1_200_000, byte: 2_000, execution: 5_000_000, perInstruction: 0.4 };

const { privateKey } = generateKeyPairSync("ed25519");
const origin = originOf("0123456789abcdef0123456789abcdef");
const arg = (entries: LedgerEntry[]): Uint8Array =>
  new Uint8Array(
    IDL.encode([...METHODS.append.args], [entries.map((e) => ({ key: e.key, entry: encodeEntry(e) }))]),
  );

async function measure(calls: Uint8Array[]): Promise<{ instructions: number; bytes: number }> {
  const hosted = await hostedCanister({ countInstructions: true });
  let instructions = 0n;
  let bytes = 0;
  for (const a of calls) {
    const r = hosted.host.update("append", a, hosted.controller.getPrincipal());
    if (r.reject !== undefined) throw new Error(r.reject);
    instructions += hosted.host.lastMessageInstructions;
    bytes += a.byteLength;
  }
  return { instructions: Number(instructions) / calls.length, bytes: bytes / calls.length };
}

const anchorCalls = Array.from({ length: CALLS }, (_, i) => {
  const head = { origin, size: (i + 1) * EVENTS_PER_MINUTE, root: toHex(sha256(Buffer.from(`root-${i}`))) };
  const note = signCheckpointNote(head, privateKey);
  return arg([anchoredCheckpointEntry(head, note, "bench", new Date(1_800_000_000_000 + i * 60_000))]);
});
let serial = 0;
const eventCalls = Array.from({ length: Math.max(1, Math.floor(CALLS / 8)) }, () =>
  arg(
    Array.from({ length: EVENTS_PER_MINUTE }, () => ({
      ...sampleEntry(serial),
      key: `bench-event-${serial++}`,
    })),
  ),
);

const anchor = await measure(anchorCalls);
const events = await measure(eventCalls);
const cyclesPerCall = (m: { instructions: number; bytes: number }): number =>
  PRICE.message + m.bytes * PRICE.byte + PRICE.execution + m.instructions * PRICE.perInstruction;
const anchorDay = cyclesPerCall(anchor) * PER_DAY;
const eventsDay = cyclesPerCall(events) * PER_DAY;
const usd = (cycles: number): string => ((cycles / 1e12) * 1.35).toFixed(4);

console.log(`| what (per call, measured) | ingress bytes | wasm instructions |`);
console.log(`|---|---|---|`);
console.log(
  `| one AnchoredCheckpoint entry | ${Math.round(anchor.bytes)} | ${(anchor.instructions / 1e6).toFixed(2)} M |`,
);
console.log(
  `| baseline: ${EVENTS_PER_MINUTE} events in one batch | ${Math.round(events.bytes)} | ${(events.instructions / 1e6).toFixed(2)} M |`,
);
console.log(
  `\nOne checkpoint a minute: ${PER_DAY} calls a day, ${(anchorDay / 1e9).toFixed(2)} B cycles (≈ ${usd(anchorDay)} USD) a day;`,
);
console.log(
  `recording the ${EVENTS_PER_MINUTE} events a minute themselves: ${(eventsDay / 1e9).toFixed(2)} B cycles (≈ ${usd(eventsDay)} USD) a day: anchoring costs ${(anchorDay / eventsDay).toFixed(3)}× of it.`,
);
console.log(
  `Storage: ${Math.round(anchor.bytes * PER_DAY)} bytes a day of ingress, about ${(((anchor.bytes + 250) * PER_DAY * 365) / 2 ** 30).toFixed(2)} GiB a year stored.`,
);
