// Instruction counting for the IC host: rewrites a wasm module so that it counts the wasm
// instructions it executes in a new mutable i64 global, exported as `__instructions`. V8 cannot
// count instructions, so the host's ic0.performance_counter is a fake; a module rewritten here
// reports a real (approximate, see below) count of what the canister executed.
//
// Written from the WebAssembly binary format (core spec 3.0, which includes memory64, bulk
// memory, sign extension, multi-value, reference types, tail calls and exception handling's
// try_table). The instructions the Motoko-compiled canister uses are all covered; every other
// opcode this decoder does not know fails loudly with its bytes and module offset.
//
// What is counted. Every instruction of every function body, when it executes, adds 1 —
// except `end` and `else`, which delimit blocks (they are not instructions of the abstract
// syntax) and add nothing. `block`, `loop` and `if` count once each time control enters them
// (a branch back to a loop's label does not re-execute the `loop`). Calls to imported (host)
// functions count 1 for the `call`; what the host does is not counted. Constant expressions
// (global initialisers, segment offsets) and the counter's own instructions are not counted.
// A function body is cut into straight-line runs after every instruction that can transfer
// control (block, loop, if, else, end, br, br_if, br_table, return, call, call_indirect,
// return_call, return_call_indirect, call_ref, return_call_ref, unreachable, throw, throw_ref,
// try_table, br_on_null, br_on_non_null). Control can only enter a run at its first
// instruction, so at the start of each run the rewrite adds the run's length to the global:
//   global.get $n ; i64.const <instructions in the run> ; i64.add ; global.set $n
// The count is exact for code that does not trap; when an instruction traps, the rest of its
// run has already been counted (a trap aborts the message anyway).
//
// How this differs from the IC. The replica also meters per wasm instruction by instrumenting
// the module, but it (a) charges the system API: each ic0 call has a base cost plus a cost per
// byte copied (msg_reply_data_append, stable64_read/write, debug_print, ...), none of which is
// counted here; (b) weighs some instructions more than 1 (e.g. bulk memory operations by the
// bytes they touch, memory.grow, calls and divisions differ in cost) and counts structural
// instructions by its own rules; and (c) limits a message's total. So this count is a lower
// bound on, and an approximation of, what performance_counter(0) reports on the IC — useful to
// compare two versions of the canister, not to predict cycles.

import { concat, uleb } from "./wasm-bytes.ts";

/** The name under which the counter global is exported. */
export const COUNTER_EXPORT = "__instructions";

export class WasmDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WasmDecodeError";
  }
}

const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  datacount: 12,
  tag: 13,
} as const;
/** Section order in a module (custom sections may appear anywhere). */
const ORDER: readonly number[] = [
  SECTION.type,
  SECTION.import,
  SECTION.function,
  SECTION.table,
  SECTION.memory,
  SECTION.tag,
  SECTION.global,
  SECTION.export,
  SECTION.start,
  SECTION.element,
  SECTION.datacount,
  SECTION.code,
  SECTION.data,
];

class Reader {
  at: number;
  readonly bytes: Uint8Array;
  /** Where `bytes` starts in the module, for error messages. */
  readonly base: number;
  constructor(bytes: Uint8Array, at = 0, base = 0) {
    this.bytes = bytes;
    this.at = at;
    this.base = base;
  }
  get done(): boolean {
    return this.at >= this.bytes.length;
  }
  fail(message: string, at = this.at): never {
    throw new WasmDecodeError(`${message} at module offset 0x${(this.base + at).toString(16)}`);
  }
  byte(): number {
    if (this.at >= this.bytes.length) this.fail("unexpected end of input");
    return this.bytes[this.at++] as number;
  }
  /** An unsigned LEB128 of at most `bits` bits, as a number (exact up to 2^53). */
  unsigned(bits = 32): number {
    let result = 0;
    let scale = 1;
    const start = this.at;
    for (let i = 0; ; i++) {
      if (i >= Math.ceil(bits / 7)) this.fail(`LEB128 longer than ${bits} bits`, start);
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  }
  /** Skips a LEB128 (signed or unsigned) of at most `bits` bits. */
  skipLeb(bits: number): void {
    const start = this.at;
    const max = Math.ceil(bits / 7);
    for (let i = 0; ; i++) {
      if (i >= max) this.fail(`LEB128 longer than ${bits} bits`, start);
      if ((this.byte() & 0x80) === 0) return;
    }
  }
  skip(n: number): void {
    if (this.at + n > this.bytes.length) this.fail("unexpected end of input");
    this.at += n;
  }
  name(): string {
    const n = this.unsigned();
    const start = this.at;
    this.skip(n);
    return new TextDecoder().decode(this.bytes.subarray(start, this.at));
  }
}

// --- Types -------------------------------------------------------------------------------------

/** A heap type: an abstract one (one byte, 0x69..0x74) or a type index (s33 ≥ 0). */
function skipHeapType(r: Reader): void {
  const b = r.bytes[r.at] ?? 0;
  if (b >= 0x40 && b < 0x80) {
    if (b < 0x69 || b > 0x74) r.fail(`unknown heap type 0x${b.toString(16)}`);
    r.at++;
  } else {
    r.skipLeb(33);
  }
}

/** A value type: a number/vector/abstract reference type (one byte) or `(ref null? ht)`. */
function skipValType(r: Reader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) skipHeapType(r);
  else if (!((b >= 0x7b && b <= 0x7f) || (b >= 0x69 && b <= 0x74)))
    r.fail(`unknown value type 0x${b.toString(16)}`, r.at - 1);
}

/** A block type: 0x40 (empty), a value type, or a type index (s33 ≥ 0). */
function skipBlockType(r: Reader): void {
  const b = r.bytes[r.at] ?? 0;
  if (b === 0x40) r.at++;
  else if (b >= 0x40 && b < 0x80) skipValType(r);
  else r.skipLeb(33);
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  if ((flags & ~0x07) !== 0) r.fail(`unknown limits flags 0x${flags.toString(16)}`, r.at - 1);
  r.skipLeb(64);
  if ((flags & 1) !== 0) r.skipLeb(64);
}

// --- Instructions ------------------------------------------------------------------------------

/** One decoded instruction: its opcode and where its bytes (opcode and immediates) lie. */
export interface Instruction {
  /** The opcode byte, or for a prefixed instruction (0xFB–0xFE) `prefix << 16 | subopcode`. */
  opcode: number;
  /** Byte offsets into the function body: [start, end). */
  start: number;
  end: number;
}

export const OP = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  throw: 0x08,
  throwRef: 0x0a,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  brTable: 0x0e,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  returnCall: 0x12,
  returnCallIndirect: 0x13,
  callRef: 0x14,
  returnCallRef: 0x15,
  tryTable: 0x1f,
  globalGet: 0x23,
  globalSet: 0x24,
  i64Const: 0x42,
  i64Add: 0x7c,
  brOnNull: 0xd5,
  brOnNonNull: 0xd6,
} as const;

/** Instructions after which a new straight-line run starts. */
const ENDS_RUN = new Set<number>([
  OP.unreachable,
  OP.block,
  OP.loop,
  OP.if,
  OP.else,
  OP.throw,
  OP.throwRef,
  OP.end,
  OP.br,
  OP.brIf,
  OP.brTable,
  OP.return,
  OP.call,
  OP.callIndirect,
  OP.returnCall,
  OP.returnCallIndirect,
  OP.callRef,
  OP.returnCallRef,
  OP.tryTable,
  OP.brOnNull,
  OP.brOnNonNull,
]);

/** Whether the instruction adds to the count: all but the block delimiters `end` and `else`. */
export const counts = (opcode: number): boolean => opcode !== OP.end && opcode !== OP.else;

/** Readable form of an opcode for messages and histograms: "0x28", "0xfc 10". */
export function opcodeName(opcode: number): string {
  return opcode > 0xff
    ? `0x${(opcode >> 16).toString(16)} ${opcode & 0xffff}`
    : `0x${opcode.toString(16).padStart(2, "0")}`;
}

function skipMemarg(r: Reader): void {
  const align = r.unsigned();
  if (align >= 0x80) r.fail(`memarg alignment field ${align} out of range`);
  if ((align & 0x40) !== 0) r.unsigned(); // multi-memory: the memory index follows
  r.skipLeb(64); // memory64: the offset is a u64
}

/** Reads one instruction (opcode and immediates); returns its opcode. */
function readInstruction(r: Reader): number {
  const start = r.at;
  const op = r.byte();
  const unknown = (opcode: string): never => r.fail(`unsupported or unknown opcode ${opcode}`, start);
  if (op >= 0x45 && op <= 0xc4) return op; // numeric, no immediates (incl. sign extension 0xC0–0xC4)
  if (op >= 0x28 && op <= 0x3e) {
    skipMemarg(r);
    return op;
  }
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0a: // throw_ref
    case 0x0b: // end
    case 0x0f: // return
    case 0x1a: // drop
    case 0x1b: // select
    case 0xd1: // ref.is_null
    case 0xd3: // ref.eq
    case 0xd4: // ref.as_non_null
      return op;
    case 0x02: // block bt
    case 0x03: // loop bt
    case 0x04: // if bt
      skipBlockType(r);
      return op;
    case 0x08: // throw tag
    case 0x0c: // br l
    case 0x0d: // br_if l
    case 0x10: // call f
    case 0x12: // return_call f
    case 0x14: // call_ref type
    case 0x15: // return_call_ref type
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
    case 0x25: // table.get
    case 0x26: // table.set
    case 0x3f: // memory.size mem
    case 0x40: // memory.grow mem
    case 0xd2: // ref.func f
    case 0xd5: // br_on_null l
    case 0xd6: // br_on_non_null l
      r.unsigned();
      return op;
    case 0x0e: {
      // br_table l* l_default
      for (let n = r.unsigned(); n > 0; n--) r.unsigned();
      r.unsigned();
      return op;
    }
    case 0x11: // call_indirect type table
    case 0x13: // return_call_indirect type table
      r.unsigned();
      r.unsigned();
      return op;
    case 0x1c: {
      // select t*
      for (let n = r.unsigned(); n > 0; n--) skipValType(r);
      return op;
    }
    case 0x1f: {
      // try_table bt catch* — catch = 0x00 tag l | 0x01 tag l | 0x02 l | 0x03 l
      skipBlockType(r);
      for (let n = r.unsigned(); n > 0; n--) {
        const kind = r.byte();
        if (kind > 0x03) r.fail(`unknown catch clause 0x${kind.toString(16)}`, r.at - 1);
        if (kind <= 0x01) r.unsigned();
        r.unsigned();
      }
      return op;
    }
    case 0x41: // i32.const
      r.skipLeb(32);
      return op;
    case 0x42: // i64.const
      r.skipLeb(64);
      return op;
    case 0x43: // f32.const
      r.skip(4);
      return op;
    case 0x44: // f64.const
      r.skip(8);
      return op;
    case 0xd0: // ref.null ht
      skipHeapType(r);
      return op;
    case 0xfc: {
      const sub = r.unsigned();
      if (sub <= 7) {
        // i32/i64.trunc_sat_f32/f64_s/u
      } else if (sub === 8 || sub === 12 || sub === 10 || sub === 14) {
        // memory.init data mem | table.init elem table | memory.copy mem mem | table.copy table table
        r.unsigned();
        r.unsigned();
      } else if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) {
        // data.drop data | memory.fill mem | elem.drop elem | table.grow/size/fill table
        r.unsigned();
      } else {
        unknown(`0xfc ${sub}`);
      }
      return (0xfc << 16) | sub;
    }
    case 0xfb:
    case 0xfd:
    case 0xfe: {
      // GC, SIMD and atomics are not used by the canister and not decoded here.
      const sub = r.unsigned();
      return unknown(`0x${op.toString(16)} ${sub}`);
    }
    default:
      return unknown(`0x${op.toString(16).padStart(2, "0")}`);
  }
}

/** A function body (the bytes after its size): where its instructions start, and them. */
export interface DecodedBody {
  /** Offset of the first instruction (after the locals declarations). */
  codeStart: number;
  instructions: Instruction[];
}

/** Decodes a function body; `base` is its offset in the module, for error messages. */
export function decodeBody(body: Uint8Array, base = 0): DecodedBody {
  const r = new Reader(body, 0, base);
  for (let n = r.unsigned(); n > 0; n--) {
    r.unsigned();
    skipValType(r);
  }
  const codeStart = r.at;
  const instructions: Instruction[] = [];
  let depth = 1; // the function body is a block closed by its last `end`
  while (depth > 0) {
    const start = r.at;
    const opcode = readInstruction(r);
    instructions.push({ opcode, start, end: r.at });
    if (opcode === OP.block || opcode === OP.loop || opcode === OP.if || opcode === OP.tryTable) depth++;
    else if (opcode === OP.end) depth--;
  }
  if (!r.done) r.fail(`${body.length - r.at} bytes after the function body's final end`);
  return { codeStart, instructions };
}

// --- Module structure --------------------------------------------------------------------------

interface Section {
  id: number;
  /** The section's contents (after id and size). */
  body: Uint8Array;
  /** Offset of `body` in the module. */
  offset: number;
}

function readSections(wasm: Uint8Array): Section[] {
  const r = new Reader(wasm);
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (wasm.length < 8 || magic.some((b, i) => wasm[i] !== b))
    r.fail("not a wasm binary module (version 1)", 0);
  r.at = 8;
  const out: Section[] = [];
  while (!r.done) {
    const id = r.byte();
    if (id > SECTION.tag) r.fail(`unknown section id ${id}`, r.at - 1);
    const size = r.unsigned();
    const offset = r.at;
    r.skip(size);
    out.push({ id, body: wasm.subarray(offset, offset + size), offset });
  }
  return out;
}

/** A function body in the code section, with where it lies in the module. */
export interface FunctionBody {
  /** Index in the function index space (imported functions come first). */
  index: number;
  body: Uint8Array;
  offset: number;
}

interface ModuleInfo {
  sections: Section[];
  importedFunctions: number;
  importedGlobals: number;
  definedGlobals: number;
  exportNames: string[];
  bodies: FunctionBody[];
}

function readModule(wasm: Uint8Array): ModuleInfo {
  const sections = readSections(wasm);
  let importedFunctions = 0;
  let importedGlobals = 0;
  let definedGlobals = 0;
  const exportNames: string[] = [];
  const bodies: FunctionBody[] = [];
  for (const s of sections) {
    const r = new Reader(s.body, 0, s.offset);
    if (s.id === SECTION.import) {
      for (let n = r.unsigned(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0x00) {
          r.unsigned();
          importedFunctions++;
        } else if (kind === 0x01) {
          skipValType(r); // reftype
          skipLimits(r);
        } else if (kind === 0x02) {
          skipLimits(r);
        } else if (kind === 0x03) {
          skipValType(r);
          r.byte(); // mutability
          importedGlobals++;
        } else if (kind === 0x04) {
          r.byte(); // tag attribute 0x00
          r.unsigned();
        } else {
          r.fail(`unknown import kind 0x${kind.toString(16)}`, r.at - 1);
        }
      }
    } else if (s.id === SECTION.global) {
      definedGlobals = r.unsigned();
    } else if (s.id === SECTION.export) {
      for (let n = r.unsigned(); n > 0; n--) {
        exportNames.push(r.name());
        r.byte();
        r.unsigned();
      }
    } else if (s.id === SECTION.code) {
      const count = r.unsigned();
      for (let i = 0; i < count; i++) {
        const size = r.unsigned();
        const at = r.at;
        r.skip(size);
        bodies.push({
          index: importedFunctions + i,
          body: s.body.subarray(at, at + size),
          offset: s.offset + at,
        });
      }
    }
  }
  return { sections, importedFunctions, importedGlobals, definedGlobals, exportNames, bodies };
}

/** The module's exports: name, kind (0 func, 1 table, 2 memory, 3 global, 4 tag) and index. */
export function exportsOf(wasm: Uint8Array): Array<{ name: string; kind: number; index: number }> {
  const out: Array<{ name: string; kind: number; index: number }> = [];
  for (const s of readSections(wasm).filter((x) => x.id === SECTION.export)) {
    const r = new Reader(s.body, 0, s.offset);
    for (let n = r.unsigned(); n > 0; n--) out.push({ name: r.name(), kind: r.byte(), index: r.unsigned() });
  }
  return out;
}

/** The function bodies of a module's code section. */
export function functionBodies(wasm: Uint8Array): FunctionBody[] {
  return readModule(wasm).bodies;
}

/** How often each opcode occurs in the module's function bodies (static, not executed, counts). */
export function opcodeHistogram(wasm: Uint8Array): Map<string, number> {
  const histogram = new Map<string, number>();
  for (const f of functionBodies(wasm)) {
    for (const i of decodeBody(f.body, f.offset).instructions) {
      const name = opcodeName(i.opcode);
      histogram.set(name, (histogram.get(name) ?? 0) + 1);
    }
  }
  return histogram;
}

// --- Encoding ----------------------------------------------------------------------------------

/** Signed LEB128 of a non-negative integer. */
function s64(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n % 128;
    n = Math.floor(n / 128);
    if (n === 0 && (b & 0x40) === 0) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const section = (id: number, body: Uint8Array): Uint8Array =>
  concat([Uint8Array.from([id, ...uleb(body.byteLength)]), body]);

/** `global.get g; i64.const n; i64.add; global.set g`. */
export function counterIncrement(global: number, n: number): Uint8Array {
  return Uint8Array.from([
    OP.globalGet,
    ...uleb(global),
    OP.i64Const,
    ...s64(n),
    OP.i64Add,
    OP.globalSet,
    ...uleb(global),
  ]);
}

/** A straight-line run: the instructions from `first` up to (excluding) `next`, and how many count. */
export interface Run {
  first: number;
  next: number;
  count: number;
}

/** The straight-line runs of a decoded body, in order (empty runs, e.g. after the final end, included). */
export function runs(instructions: Instruction[]): Run[] {
  const out: Run[] = [];
  let first = 0;
  let count = 0;
  for (let i = 0; i < instructions.length; i++) {
    const op = (instructions[i] as Instruction).opcode;
    if (counts(op)) count++;
    if (ENDS_RUN.has(op)) {
      out.push({ first, next: i + 1, count });
      first = i + 1;
      count = 0;
    }
  }
  if (first < instructions.length) out.push({ first, next: instructions.length, count });
  return out;
}

function instrumentBody(f: FunctionBody, global: number): Uint8Array {
  const { codeStart, instructions } = decodeBody(f.body, f.offset);
  const parts: Uint8Array[] = [f.body.subarray(0, codeStart)];
  for (const run of runs(instructions)) {
    if (run.first === run.next) continue;
    if (run.count > 0) parts.push(counterIncrement(global, run.count));
    const start = (instructions[run.first] as Instruction).start;
    const end = (instructions[run.next - 1] as Instruction).end;
    parts.push(f.body.subarray(start, end));
  }
  return concat(parts);
}

/**
 * The module rewritten to count executed instructions (see the top of this file for what
 * counts) in a new mutable i64 global, initially 0, appended after the existing globals (so no
 * global index changes) and exported as `__instructions`. Everything else — types, imports,
 * functions and their indices, exports, data, custom sections — is kept as it is; only the
 * code section's bodies grow. (Custom sections that hold code offsets, e.g. DWARF, would go
 * stale; the canister has none.)
 */
export function instrumentInstructionCount(wasm: Uint8Array): Uint8Array {
  const m = readModule(wasm);
  if (m.exportNames.includes(COUNTER_EXPORT))
    throw new WasmDecodeError(`module already exports ${COUNTER_EXPORT}`);
  const global = m.importedGlobals + m.definedGlobals;
  const newGlobal = Uint8Array.of(0x7e, 0x01, OP.i64Const, 0x00, OP.end); // (mut i64) (i64.const 0)
  const exportEntry = concat([
    Uint8Array.from(uleb(new TextEncoder().encode(COUNTER_EXPORT).byteLength)),
    new TextEncoder().encode(COUNTER_EXPORT),
    Uint8Array.from([0x03, ...uleb(global)]),
  ]);

  const rewritten = new Map<number, Uint8Array>();
  const globals = m.sections.find((s) => s.id === SECTION.global);
  rewritten.set(
    SECTION.global,
    globals === undefined ? concat([Uint8Array.of(1), newGlobal]) : appendEntry(globals, newGlobal),
  );
  const exports = m.sections.find((s) => s.id === SECTION.export);
  rewritten.set(
    SECTION.export,
    exports === undefined ? concat([Uint8Array.of(1), exportEntry]) : appendEntry(exports, exportEntry),
  );
  if (m.bodies.length > 0) {
    const entries = m.bodies.map((f) => {
      const body = instrumentBody(f, global);
      return concat([Uint8Array.from(uleb(body.byteLength)), body]);
    });
    rewritten.set(SECTION.code, concat([Uint8Array.from(uleb(m.bodies.length)), ...entries]));
  }

  const out: Uint8Array[] = [wasm.subarray(0, 8)];
  const pending = new Set(rewritten.keys());
  const emitPendingBefore = (id: number) => {
    // Sections this rewrite adds go where the section order puts them.
    for (const p of [...pending].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))) {
      if (ORDER.indexOf(p) < ORDER.indexOf(id)) {
        out.push(section(p, rewritten.get(p) as Uint8Array));
        pending.delete(p);
      }
    }
  };
  for (const s of m.sections) {
    if (s.id !== SECTION.custom) emitPendingBefore(s.id);
    if (rewritten.has(s.id) && pending.has(s.id)) {
      out.push(section(s.id, rewritten.get(s.id) as Uint8Array));
      pending.delete(s.id);
    } else {
      out.push(section(s.id, s.body));
    }
  }
  for (const p of [...pending].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)))
    out.push(section(p, rewritten.get(p) as Uint8Array));
  return concat(out);
}

/** A vector section's contents with one entry added at the end. */
function appendEntry(s: Section, entry: Uint8Array): Uint8Array {
  const r = new Reader(s.body, 0, s.offset);
  const count = r.unsigned();
  return concat([Uint8Array.from(uleb(count + 1)), s.body.subarray(r.at), entry]);
}
