import { beforeAll, describe, expect, it } from "vitest";
import { IDL } from "@dfinity/candid";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { compileCanister } from "../canister/compile.ts";
import { METHODS } from "../../src/ledger/ic/idl.ts";
import { encodeEntry } from "../../src/ledger/index.ts";
import { entries } from "../ledger/fixtures.ts";
import { IcHost } from "./host.ts";
import {
  COUNTER_EXPORT,
  counts,
  decodeBody,
  exportsOf,
  functionBodies,
  instrumentInstructionCount,
  OP,
  opcodeHistogram,
  runs,
  WasmDecodeError,
  type Instruction,
} from "./count-instructions.ts";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 24;
if (skip)
  console.log(
    `SKIP instruction counting suite: the canister and the test modules use memory64, which needs Node 24 (this is Node ${process.versions.node})`,
  );

// The WebAssembly API in the shapes used here (the project compiles without the DOM lib).
interface WasmGlobal {
  value: unknown;
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
interface ExternDescriptor {
  module?: string;
  name: string;
  kind: string;
}
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(
    bytes: Uint8Array,
    imports?: Record<string, Record<string, unknown>>,
  ): Promise<{ module: object; instance: WasmInstance }>;
  Module: { exports(m: object): ExternDescriptor[]; imports(m: object): ExternDescriptor[] };
  Global: new (descriptor: { value: string; mutable?: boolean }, value: unknown) => WasmGlobal;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// --- A few bytes of assembler: the modules below are written out instruction by instruction. ---
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const str = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const moduleOf = (...sections: number[][]): Uint8Array =>
  Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);
/** A code-section entry: locals as [count, type] pairs, then the instructions (ending with `end`). */
const body = (locals: Array<[number, number]>, code: number[]): number[] => {
  const b = [...vec(locals.map(([n, t]) => [...leb(n), t])), ...code];
  return [...leb(b.length), ...b];
};
const I32 = 0x7f;
const I64 = 0x7e;
const funcType = (params: number[], results: number[]): number[] => [
  0x60,
  ...vec(params.map((p) => [p])),
  ...vec(results.map((r) => [r])),
];
const exportFunc = (name: string, index: number): number[] => [...str(name), 0x00, ...leb(index)];

async function instrumented(
  wasm: Uint8Array,
  imports?: Record<string, Record<string, unknown>>,
): Promise<{ exports: Record<string, unknown>; counter: WasmGlobal }> {
  const { instance } = await WA.instantiate(instrumentInstructionCount(wasm), imports);
  return { exports: instance.exports, counter: instance.exports[COUNTER_EXPORT] as WasmGlobal };
}

/** Runs `f` and returns what it returned and how many instructions it executed. */
function measure(counter: WasmGlobal, f: () => unknown): { result: unknown; instructions: bigint } {
  counter.value = 0n;
  const result = f();
  return { result, instructions: counter.value as bigint };
}

// (func $count (param $n i32) (result i32) (local $i i32) — counts $n down to 0, returns $n.
// Executed: block, loop (2); each iteration that continues: local.get, i32.eqz, br_if,
// local.get, i32.const, i32.sub, local.set, local.get, i32.const, i32.add, local.set, br (12);
// the last check: local.get, i32.eqz, br_if (3); after the loop: local.get (1). `end`s add
// nothing. Total 12n + 6.
const LOOP = moduleOf(
  section(1, vec([funcType([I32], [I32])])),
  section(3, vec([[0]])),
  section(7, vec([exportFunc("count", 0)])),
  section(
    10,
    vec([
      body(
        [[1, I32]],
        [
          0x02,
          0x40, // block
          0x03,
          0x40, //   loop
          0x20,
          0x00,
          0x45,
          0x0d,
          0x01, //   local.get 0; i32.eqz; br_if 1
          0x20,
          0x00,
          0x41,
          0x01,
          0x6b,
          0x21,
          0x00, //   local.get 0; i32.const 1; i32.sub; local.set 0
          0x20,
          0x01,
          0x41,
          0x01,
          0x6a,
          0x21,
          0x01, //   local.get 1; i32.const 1; i32.add; local.set 1
          0x0c,
          0x00, //   br 0
          0x0b, // end loop
          0x0b, // end block
          0x20,
          0x01, // local.get 1
          0x0b,
        ],
      ),
    ]),
  ),
);

// Imports env.tick (func 0) and env.g (global 0, i32); defines global 1 (mut i32 = 7), a table
// holding $ifelse, memory 0 (memory64, 1 page) and a passive data segment "\x01\x02\x03".
const CONTROL = moduleOf(
  section(1, vec([funcType([I32], [I32]), funcType([], []), funcType([I64], [I64])])),
  section(
    2,
    vec([
      [...str("env"), ...str("tick"), 0x00, 1],
      [...str("env"), ...str("g"), 0x03, I32, 0x00],
    ]),
  ),
  section(3, vec([[0], [2], [2], [0], [0], [0], [0], [0], [1], [1], [1]])), // funcs 1..11
  section(4, vec([[0x70, 0x00, 0x01]])), // table: funcref, min 1
  section(5, vec([[0x04, 0x01]])), // memory: i64 addresses, min 1 page
  section(6, vec([[I32, 0x01, 0x41, 0x07, 0x0b]])), // (global (mut i32) (i32.const 7))
  section(
    7,
    vec([
      exportFunc("ifelse", 1),
      exportFunc("add1", 2),
      exportFunc("calls", 3),
      exportFunc("brtable", 4),
      exportFunc("indirect", 5),
      exportFunc("tail", 6),
      exportFunc("globals", 7),
      exportFunc("memory", 8),
      exportFunc("callsTrap", 10),
      exportFunc("divTrap", 11),
    ]),
  ),
  section(9, vec([[0x00, 0x41, 0x00, 0x0b, ...vec([[1]])]])), // elem: table 0 at 0 ← [$ifelse]
  section(12, leb(1)), // data count
  section(
    10,
    vec([
      // 1 $ifelse: then-branch 5 (local.get, if, i32.const, i32.const, i32.mul), else 7.
      body(
        [],
        [0x20, 0x00, 0x04, I32, 0x41, 0x0a, 0x05, 0x41, 0x14, 0x41, 0x01, 0x6a, 0x0b, 0x41, 0x05, 0x6c, 0x0b],
      ),
      // 2 $add1: local.get 0; i64.const 1; i64.add — 3.
      body([], [0x20, 0x00, 0x42, 0x01, 0x7c, 0x0b]),
      // 3 $calls: local.get 0; call $add1; call $add1; call $tick (imported); i64.const 2; i64.mul — 6 + 2×3 = 12.
      body([], [0x20, 0x00, 0x10, 0x02, 0x10, 0x02, 0x10, 0x00, 0x42, 0x02, 0x7e, 0x0b]),
      // 4 $brtable: block; block; block; local.get 0; br_table [0 1] 2 (5), then
      //   case 0: i32.const 100; return (2) → 7; case 1: i32.const 1; i32.const 199; i32.add; return (4) → 9;
      //   default: i32.const 300 (1) → 6.
      body(
        [],
        [
          0x02,
          0x40,
          0x02,
          0x40,
          0x02,
          0x40,
          0x20,
          0x00,
          0x0e,
          ...vec([[0], [1]]),
          0x02,
          0x0b,
          0x41,
          0xe4,
          0x00,
          0x0f,
          0x0b,
          0x41,
          0x01,
          0x41,
          0xc7,
          0x01,
          0x6a,
          0x0f,
          0x0b,
          0x41,
          0xac,
          0x02,
          0x0b,
        ],
      ),
      // 5 $indirect: local.get 0; i32.const 0; call_indirect (type 0) (table 0) — 3 + $ifelse.
      body([], [0x20, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b]),
      // 6 $tail: local.get 0; return_call $ifelse — 2 + $ifelse.
      body([], [0x20, 0x00, 0x12, 0x01, 0x0b]),
      // 7 $globals: global.get 0; global.get 1; i32.add; global.set 1; global.get 1; local.get 0; i32.add — 7.
      body([], [0x23, 0x00, 0x23, 0x01, 0x6a, 0x24, 0x01, 0x23, 0x01, 0x20, 0x00, 0x6a, 0x0b]),
      // 8 $memory (memory64, bulk memory, sign extension, typed select) — 22:
      body(
        [],
        [
          0x42,
          0x00,
          0x41,
          0xab,
          0x01,
          0x42,
          0x10,
          0xfc,
          0x0b,
          0x00, // memory.fill [0, 16) with 0xab (4)
          0x42,
          0x20,
          0x42,
          0x00,
          0x42,
          0x10,
          0xfc,
          0x0a,
          0x00,
          0x00, // memory.copy [0, 16) to 32 (4)
          0x42,
          0x30,
          0x41,
          0x00,
          0x41,
          0x03,
          0xfc,
          0x08,
          0x00,
          0x00, // memory.init 48 ← data 0 (4)
          0xfc,
          0x09,
          0x00, // data.drop 0 (1)
          // i64.const 32; i32.load8_u offset=5 (the u64 offset padded to 10 bytes); i32.extend8_s (3)
          0x42,
          0x20,
          0x2d,
          0x00,
          0x85,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x00,
          0xc0,
          // local.get 0; i32.const 1; select (result i32) (3) — -85 when the argument is non-zero, else 1
          0x20,
          0x00,
          0x41,
          0x01,
          0x1c,
          0x01,
          I32,
          // i64.const 49; i32.load8_u (2) — what memory.init put there, 2; i32.add (1)
          0x42,
          0x31,
          0x2d,
          0x00,
          0x00,
          0x6a,
          0x0b,
        ],
      ),
      // 9 $trap: unreachable — 1.
      body([], [0x00, 0x0b]),
      // 10 $callsTrap: i32.const 1; drop; call $trap; i32.const 2; drop — traps after 3 + 1; the
      // run after the call is not counted because the call ends a run.
      body([], [0x41, 0x01, 0x1a, 0x10, 0x09, 0x41, 0x02, 0x1a, 0x0b]),
      // 11 $divTrap: i32.const 1; i32.const 0; i32.div_u; drop; nop — traps at the division, but
      // its whole run (5) was counted on entry: the documented overcount on a trap.
      body([], [0x41, 0x01, 0x41, 0x00, 0x6e, 0x1a, 0x01, 0x0b]),
    ]),
  ),
  section(11, vec([[0x01, ...vec([[1], [2], [3]])]])), // passive data segment 0
);

describe.skipIf(skip)("instrumentInstructionCount on hand-assembled modules", () => {
  it("counts a loop exactly: 12 per iteration plus 6", async () => {
    const { exports, counter } = await instrumented(LOOP);
    const count = exports.count as (n: number) => number;
    expect(counter.value).toBe(0n);
    for (const n of [0, 1, 2, 10, 1000])
      expect(measure(counter, () => count(n))).toEqual({ result: n, instructions: BigInt(12 * n + 6) });
    // Without resetting, the counter accumulates across calls.
    counter.value = 0n;
    count(3);
    count(4);
    expect(counter.value).toBe(BigInt(12 * 3 + 6 + 12 * 4 + 6));
  });

  it("counts if/else, calls (direct, imported, indirect, tail), br_table, globals and memory64/bulk-memory code exactly", async () => {
    let ticks = 0;
    const g = new WA.Global({ value: "i32", mutable: false }, 1000);
    const { exports, counter } = await instrumented(CONTROL, { env: { tick: () => void ticks++, g } });
    const fn = (name: string) => exports[name] as (x: number | bigint) => number | bigint;
    expect(measure(counter, () => fn("ifelse")(1))).toEqual({ result: 50, instructions: 5n });
    expect(measure(counter, () => fn("ifelse")(0))).toEqual({ result: 105, instructions: 7n });
    expect(measure(counter, () => fn("add1")(41n))).toEqual({ result: 42n, instructions: 3n });
    expect(measure(counter, () => fn("calls")(1n))).toEqual({ result: 6n, instructions: 12n });
    expect(ticks).toBe(1);
    expect(measure(counter, () => fn("brtable")(0))).toEqual({ result: 100, instructions: 7n });
    expect(measure(counter, () => fn("brtable")(1))).toEqual({ result: 200, instructions: 9n });
    expect(measure(counter, () => fn("brtable")(2))).toEqual({ result: 300, instructions: 6n });
    expect(measure(counter, () => fn("brtable")(99))).toEqual({ result: 300, instructions: 6n });
    expect(measure(counter, () => fn("indirect")(1))).toEqual({ result: 50, instructions: 3n + 5n });
    expect(measure(counter, () => fn("indirect")(0))).toEqual({ result: 105, instructions: 3n + 7n });
    expect(measure(counter, () => fn("tail")(0))).toEqual({ result: 105, instructions: 2n + 7n });
    // global 0 is imported, global 1 defined: the counter is global 2 and must not disturb them.
    expect(measure(counter, () => fn("globals")(5))).toEqual({ result: 1000 + 7 + 5, instructions: 7n });
    expect(measure(counter, () => fn("memory")(1))).toEqual({ result: -85 + 2, instructions: 22n });
  });

  it("on a trap: runs end at calls, so a trapping callee leaves the caller's rest uncounted; a run that traps midway was counted whole", async () => {
    const g = new WA.Global({ value: "i32", mutable: false }, 0);
    const { exports, counter } = await instrumented(CONTROL, { env: { tick: () => undefined, g } });
    counter.value = 0n;
    expect(() => (exports.callsTrap as () => void)()).toThrow(/unreachable/);
    expect(counter.value).toBe(4n);
    counter.value = 0n;
    expect(() => (exports.divTrap as () => void)()).toThrow(/divi/);
    expect(counter.value).toBe(5n);
  });

  it("adds the global and export sections when the module has none, in section order (here before a start function)", async () => {
    // (func nop nop nop) as the start function, no globals, no exports.
    const start = moduleOf(
      section(1, vec([funcType([], [])])),
      section(3, vec([[0]])),
      section(8, leb(0)),
      section(10, vec([body([], [0x01, 0x01, 0x01, 0x0b])])),
    );
    const { counter } = await instrumented(start);
    expect(counter.value).toBe(3n); // counted while instantiating
  });

  it("refuses opcodes it does not decode, naming the opcode and its module offset", () => {
    const withCode = (code: number[]) =>
      moduleOf(
        section(1, vec([funcType([], [])])),
        section(3, vec([[0]])),
        section(10, vec([body([], code)])),
      );
    // v128.const (SIMD) at module offset 0x17 (the first instruction of the only body).
    expect(() =>
      instrumentInstructionCount(withCode([0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x1a, 0x0b])),
    ).toThrow(/unsupported or unknown opcode 0xfd 12 at module offset 0x17\b/);
    expect(() => instrumentInstructionCount(withCode([0x06, 0x40, 0x0b, 0x0b]))).toThrow(
      /unknown opcode 0x06 at module offset 0x17\b/,
    ); // legacy try
    expect(() => instrumentInstructionCount(withCode([0x01, 0xfc, 0x12, 0x0b]))).toThrow(
      /0xfc 18 at module offset 0x18\b/,
    );
    expect(() => instrumentInstructionCount(withCode([0x01, 0x01]))).toThrow(WasmDecodeError); // no final end
    expect(() => instrumentInstructionCount(instrumentInstructionCount(LOOP))).toThrow(
      /already exports __instructions/,
    );
  });
});

/** The LEB immediate after a one-byte opcode (as used here: indices and small non-negative constants). */
function immediate(b: Uint8Array, i: Instruction): bigint {
  let v = 0n;
  let shift = 0n;
  for (let at = i.start + 1; at < i.end; at++) {
    v |= BigInt((b[at] as number) & 0x7f) << shift;
    shift += 7n;
  }
  return v;
}

/** A body's instructions with the counters taken out, and where each counter stood (index of the instruction it precedes). */
function stripCounters(
  b: Uint8Array,
  instructions: Instruction[],
  counter: number,
): { kept: Instruction[]; counters: Array<{ before: number; n: bigint }> } {
  const kept: Instruction[] = [];
  const counters: Array<{ before: number; n: bigint }> = [];
  for (let k = 0; k < instructions.length; k++) {
    const [a, c, add, set] = instructions.slice(k, k + 4);
    if (
      a?.opcode === OP.globalGet &&
      immediate(b, a) === BigInt(counter) &&
      c?.opcode === OP.i64Const &&
      add?.opcode === OP.i64Add &&
      set?.opcode === OP.globalSet &&
      immediate(b, set) === BigInt(counter)
    ) {
      counters.push({ before: kept.length, n: immediate(b, c) });
      k += 3;
    } else {
      kept.push(instructions[k] as Instruction);
    }
  }
  return { kept, counters };
}

describe.skipIf(skip)("instrumentInstructionCount on the compiled ledger canister", () => {
  let wasm: Uint8Array;
  let counted: Uint8Array;
  beforeAll(async () => {
    wasm = (await compileCanister()).wasm;
    counted = instrumentInstructionCount(wasm);
  });

  it("decodes every opcode the canister uses", () => {
    const used = opcodeHistogram(wasm);
    // What the Motoko compiler emits beyond the MVP: bulk memory (memory.init/copy/fill) and
    // saturating truncation (0xfc 2), besides memory64 loads and stores and sign extension.
    for (const op of ["0xfc 2", "0xfc 8", "0xfc 10", "0xfc 11", "0xc0"])
      expect(used.get(op)).toBeGreaterThan(0);
    expect(used.size).toBeGreaterThan(100);
  });

  it("still compiles, exports __instructions and otherwise has the same imports and exports", async () => {
    const before = await WA.compile(wasm);
    const after = await WA.compile(counted);
    expect(WA.Module.imports(after)).toEqual(WA.Module.imports(before));
    expect(WA.Module.exports(after)).toEqual([
      ...WA.Module.exports(before),
      { name: COUNTER_EXPORT, kind: "global" },
    ]);
  });

  it("round-trips: decoding the rewritten module gives the same instructions, with a counter of the right size at the start of every run", () => {
    const original = functionBodies(wasm);
    const rewritten = functionBodies(counted);
    expect(rewritten.map((f) => f.index)).toEqual(original.map((f) => f.index));
    const counter = exportsOf(counted).find((e) => e.name === COUNTER_EXPORT)?.index ?? -1;
    let counters = 0;
    let highestGlobalUsed = -1;
    for (const [i, f] of original.entries()) {
      const g = rewritten[i] as (typeof rewritten)[number];
      const a = decodeBody(f.body);
      const b = decodeBody(g.body);
      for (const x of a.instructions)
        if (x.opcode === OP.globalGet || x.opcode === OP.globalSet)
          highestGlobalUsed = Math.max(highestGlobalUsed, Number(immediate(f.body, x)));
      expect(g.body.subarray(0, b.codeStart)).toEqual(f.body.subarray(0, a.codeStart)); // same locals
      const { kept, counters: found } = stripCounters(g.body, b.instructions, counter);
      expect(kept.map((x) => g.body.subarray(x.start, x.end))).toEqual(
        a.instructions.map((x) => f.body.subarray(x.start, x.end)),
      );
      const expected = runs(a.instructions)
        .filter((r) => r.count > 0)
        .map((r) => ({ before: r.first, n: BigInt(r.count) }));
      expect(found).toEqual(expected);
      // Every counted instruction is covered by exactly one counter.
      expect(found.reduce((n, c) => n + c.n, 0n)).toBe(
        BigInt(a.instructions.filter((x) => counts(x.opcode)).length),
      );
      counters += found.length;
    }
    expect(counters).toBeGreaterThan(original.length);
    // The counter is a new global after every global the canister's code uses.
    expect(highestGlobalUsed).toBeGreaterThanOrEqual(0);
    expect(counter).toBeGreaterThan(highestGlobalUsed);
  });

  it("runs under the IC host with the ic0 imports and answers as the uninstrumented canister does", async () => {
    const controller = Ed25519KeyIdentity.generate().getPrincipal();
    const options = {
      canisterId: "uxrrr-q7777-77774-qaaaq-cai",
      controllers: [controller],
      time: 1_764_000_000_000_000_000n,
    };
    const noArgs = new Uint8Array(IDL.encode([], []));
    const plain = await IcHost.install(wasm, options, noArgs, controller);
    const instrumentedHost = await IcHost.install(counted, options, noArgs, controller);
    const batch = new Uint8Array(
      IDL.encode(
        [...METHODS.append.args],
        [entries(0, 3).map((e) => ({ key: e.key, entry: encodeEntry(e) }))],
      ),
    );
    const a = plain.update("append", batch, controller);
    const b = instrumentedHost.update("append", batch, controller);
    expect(a.reject).toBeUndefined();
    expect(b).toEqual(a);
    const range = new Uint8Array(IDL.encode([...METHODS.entries.args], [0n, 10n]));
    expect(instrumentedHost.query("entries", range, controller)).toEqual(
      plain.query("entries", range, controller),
    );
  });

  it("lets the canister's performance_counter report the instructions an append executed, growing with the batch", async () => {
    const controller = Ed25519KeyIdentity.generate().getPrincipal();
    const host = await IcHost.install(
      wasm,
      { canisterId: "uxrrr-q7777-77774-qaaaq-cai", controllers: [controller], countInstructions: true },
      new Uint8Array(IDL.encode([], [])),
      controller,
    );
    const stats = () =>
      IDL.decode(
        [...METHODS.stats.result],
        host.query("stats", new Uint8Array(IDL.encode([], [])), controller).reply ?? new Uint8Array(),
      )[0] as { last_append_instructions: bigint; last_append_entries: bigint };
    const append = (from: number, count: number) => {
      const r = host.update(
        "append",
        new Uint8Array(
          IDL.encode(
            [...METHODS.append.args],
            [entries(from, count).map((e) => ({ key: e.key, entry: encodeEntry(e) }))],
          ),
        ),
        controller,
      );
      expect(r.reject).toBeUndefined();
      whole = host.lastMessageInstructions;
      return stats().last_append_instructions;
    };
    let whole = 0n;
    const one = append(0, 1);
    const ten = append(1, 10);
    expect(one).toBeGreaterThan(10_000n);
    expect(ten).toBeGreaterThan(5n * one);
    expect(ten).toBeLessThan(20n * one);
    // The canister reads the counter before replying: the message's full count is a little more.
    expect(whole).toBeGreaterThanOrEqual(ten);
    expect(whole).toBeLessThan(ten + ten / 10n);
    expect(host.instructions()).toBeGreaterThan(one + ten);
  });
});
