// A writer process driven line by line on stdin, so a test can freeze it (SIGSTOP), kill it, or
// start several together over the same directory:
//   OPEN <dir>     → READY <pid> | REFUSED <error name> <message>
//   APPEND <n>     → ACK <key> <index> per entry, then DONE | FAILED <error name> <message>
//   RUN            appends and signs a checkpoint after every commit until STOP → STOPPED
//   CLOSE          → CLOSED, and exits
// argv: MODE (ledger | outbox) TAG STALE_MS. The outbox mode enqueues instead of appending.
import { createInterface } from "node:readline";
import { FileLedger } from "../../src/ledger/file/index.ts";
import { FileOutbox } from "../../src/ledger/outbox.ts";
import { sampleEntry } from "./fixtures.ts";

const [mode, tag, staleArg] = process.argv.slice(2);
if ((mode !== "ledger" && mode !== "outbox") || tag === undefined || staleArg === undefined)
  throw new Error("usage: lock-child ledger|outbox TAG STALE_MS");
const lockStaleMs = Number(staleArg);
const warn = (m: string): boolean => process.stderr.write(`${m}\n`);
const say = (line: string): boolean => process.stdout.write(`${line}\n`);
const oneLine = (e: unknown): string =>
  e instanceof Error ? `${e.name} ${e.message.replace(/\n/g, " ")}` : `Error ${String(e)}`;

let ledger: FileLedger | undefined;
let outbox: FileOutbox | undefined;
let seq = 0;
let running: Promise<void> | undefined;
let stopping = false;

const batch = (n: number): ReturnType<typeof sampleEntry>[] =>
  Array.from({ length: n }, () => ({ ...sampleEntry(seq), key: `${tag}-${seq++}` }));

async function open(dir: string): Promise<void> {
  try {
    if (mode === "ledger") ledger = await FileLedger.open(dir, { lockStaleMs, warn });
    else outbox = FileOutbox.open(dir, { lockStaleMs, warn });
    say(`READY ${process.pid}`);
  } catch (e: unknown) {
    say(`REFUSED ${oneLine(e)}`);
  }
}

async function append(n: number): Promise<void> {
  const entries = batch(n);
  if (outbox !== undefined) {
    await outbox.enqueue(entries);
    return;
  }
  if (ledger === undefined) throw new Error("not open");
  const receipts = await ledger.append(entries);
  receipts.forEach((r, i) => say(`ACK ${entries[i]?.key} ${r.index}`));
}

async function run(): Promise<void> {
  while (!stopping && ledger !== undefined) {
    await append(1 + (seq % 5));
    await ledger.checkpoint();
  }
}

async function command(line: string): Promise<void> {
  const [verb, arg] = line.split(" ");
  if (verb === "OPEN" && arg !== undefined) return open(arg);
  if (verb === "APPEND") {
    try {
      await append(Number(arg));
      say("DONE");
    } catch (e: unknown) {
      say(`FAILED ${oneLine(e)}`);
    }
    return;
  }
  if (verb === "RUN") {
    running = run().catch((e: unknown) => void say(`FAILED ${oneLine(e)}`));
    return;
  }
  if (verb === "STOP") {
    stopping = true;
    await running;
    say("STOPPED");
    return;
  }
  if (verb === "CLOSE") {
    await ledger?.close();
    await outbox?.close();
    say("CLOSED");
    process.exit(0);
  }
  say(`FAILED Error unknown command ${line}`);
}

// One command at a time, in order.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(() => command(line));
});
say("LOADED");
