// A minimal IC system-API host: runs a compiled canister (wasm64, as the motoko package emits
// it) under Node 24 by implementing the ic0 imports it asks for. A test harness, not a
// replica: no consensus, cycles, inter-canister calls or instruction limits.
//
// The host owns the canister's main memory (the module is rewritten to import it), because the
// IC runs `(start)` — where Motoko's runtime reads stable memory to decide whether the heap it
// finds is persistent state — as part of instantiating the module, before any method.
import { Principal } from "@dfinity/principal";
import { CommittedBytes } from "./committed.ts";
import { declaredMemory, hasMetadata, withImportedMemory } from "./import-memory.ts";
import { COUNTER_EXPORT, instrumentInstructionCount } from "./count-instructions.ts";

const PAGE = 65536;
const U64_MAX = (1n << 64n) - 1n;
/** The metadata by which the replica knows a module uses Motoko's enhanced orthogonal persistence. */
const EOP_METADATA = "enhanced-orthogonal-persistence";

export class CanisterTrap extends Error {
  constructor(message: string) {
    super(`canister trapped: ${message}`);
    this.name = "CanisterTrap";
  }
}

export interface CallResult {
  reply?: Uint8Array;
  reject?: string;
}

/** install_code's upgrade options (IC interface specification, management canister). */
export interface UpgradeOptions {
  /**
   * "keep" retains main memory (what enhanced orthogonal persistence needs), "replace" starts
   * the new module on its own fresh memory, null leaves the option out — then, as on the
   * replica, upgrading a canister whose module declares enhanced orthogonal persistence is
   * refused. Not given: what dfx and icp-cli send, "keep" when the installed module declares it.
   */
  wasmMemoryPersistence?: "keep" | "replace" | null;
  skipPreUpgrade?: boolean;
}

interface Message {
  arg: Uint8Array;
  caller: Uint8Array;
  reply: Uint8Array[];
  replied: boolean;
  rejected?: string;
  query: boolean;
}

interface Outcome {
  result: CallResult;
  trapped: boolean;
}

// The WebAssembly API in the few shapes used here (the project compiles without the DOM lib).
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
type WasmImports = Record<string, Record<string, (...args: never[]) => unknown>>;
type WasmImportObject = Record<string, Record<string, unknown>>;
type MemoryDescriptor = { initial: bigint | number; maximum?: bigint | number; address?: "i64" };
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: WasmImportObject): Promise<{ instance: WasmInstance }>;
      Memory: new (d: MemoryDescriptor) => WasmMemory;
    };
  }
).WebAssembly;

/** A zeroed memory of `pages` pages with the limits `module` declares. */
function memoryFor(module: Uint8Array, pages?: number): WasmMemory {
  const { min, max, memory64 } = declaredMemory(module);
  const size = (n: number) => (memory64 ? BigInt(n) : n);
  const descriptor: MemoryDescriptor = { initial: size(Math.max(min, pages ?? 0)) };
  if (max !== undefined) descriptor.maximum = size(max);
  if (memory64) descriptor.address = "i64";
  return new wasm.Memory(descriptor);
}

const newMessage = (caller: Principal, arg: Uint8Array): Message => ({
  arg,
  caller: caller.toUint8Array(),
  reply: [],
  replied: false,
  query: false,
});

export interface HostOptions {
  canisterId: string;
  controllers: Principal[];
  /** Nanoseconds since the epoch; settable between calls. */
  time?: bigint;
  /**
   * Count executed wasm instructions (test/ichost/count-instructions.ts) so that
   * performance_counter(0) answers what the message has executed so far — a lower bound of
   * the IC's metering, which also charges ic0 calls. Without it the counter is a stand-in.
   */
  countInstructions?: boolean;
}

export class IcHost {
  readonly canisterId: Principal;
  readonly controllers: Principal[];
  time: bigint;
  certifiedData: Uint8Array = new Uint8Array(0);
  /** What a query sees as its data certificate (a test builds it over `certifiedData`). */
  certificate: Uint8Array | undefined;
  readonly logs: string[] = [];
  private stable: Uint8Array = new Uint8Array(0);
  /** The state after the last message that succeeded: what a trap or a query rolls back to. */
  private committed: { heap: CommittedBytes; stable: CommittedBytes; certified: Uint8Array } = {
    heap: new CommittedBytes(new Uint8Array(0)),
    stable: new CommittedBytes(new Uint8Array(0)),
    certified: new Uint8Array(0),
  };
  private module: Uint8Array = new Uint8Array(0);
  private memory: WasmMemory | undefined;
  private instance: WasmInstance | undefined;
  private message: Message | undefined;
  private counter = 0n;
  private readonly counting: boolean;
  private messageStart = 0n;
  /** Instructions the last message executed (only with countInstructions). */
  lastMessageInstructions = 0n;

  private constructor(o: HostOptions) {
    this.counting = o.countInstructions ?? false;
    this.canisterId = Principal.fromText(o.canisterId);
    this.controllers = o.controllers;
    this.time = o.time ?? BigInt(Date.now()) * 1_000_000n;
  }

  /** Installs `module` and runs canister_init; throws a CanisterTrap when that traps. */
  static async install(
    module: Uint8Array,
    o: HostOptions,
    initArg: Uint8Array,
    installer: Principal,
  ): Promise<IcHost> {
    const host = new IcHost(o);
    await host.instantiate(module, memoryFor(module), { applyData: true });
    const init = host.run("canister_init", newMessage(installer, initArg), false);
    if (init.result.reject !== undefined) throw new CanisterTrap(`canister_init: ${init.result.reject}`);
    host.commit();
    return host;
  }

  private mem(): Uint8Array {
    if (this.memory === undefined) throw new Error("no canister installed");
    return new Uint8Array(this.memory.buffer);
  }

  private read(ptr: bigint, size: bigint): Uint8Array {
    return this.mem().slice(Number(ptr), Number(ptr + size));
  }

  private write(dst: bigint, bytes: Uint8Array, offset: bigint, size: bigint): void {
    const from = Number(offset);
    if (from + Number(size) > bytes.byteLength)
      this.trap(`copy of ${size} bytes from offset ${offset} exceeds ${bytes.byteLength}`);
    this.mem().set(bytes.subarray(from, from + Number(size)), Number(dst));
  }

  /** The message in progress; `(start)` runs outside any, so the msg_* calls trap there. */
  private msg(): Message {
    if (this.message === undefined) this.trap("no message in progress");
    return this.message as Message;
  }

  private trap(text: string): never {
    throw new CanisterTrap(text);
  }

  private imports(): WasmImports {
    const unsupported = (name: string) => () =>
      this.trap(`ic0.${name}: inter-canister calls are not supported by this host`);
    const text = (src: bigint, size: bigint) => new TextDecoder().decode(this.read(src, size));
    return {
      ic0: {
        msg_arg_data_size: () => BigInt(this.msg().arg.byteLength),
        msg_arg_data_copy: (dst: bigint, off: bigint, size: bigint) =>
          this.write(dst, this.msg().arg, off, size),
        msg_caller_size: () => BigInt(this.msg().caller.byteLength),
        msg_caller_copy: (dst: bigint, off: bigint, size: bigint) =>
          this.write(dst, this.msg().caller, off, size),
        msg_reply_data_append: (src: bigint, size: bigint) =>
          void this.msg().reply.push(this.read(src, size)),
        msg_reply: () => void (this.msg().replied = true),
        msg_reject: (src: bigint, size: bigint) => void (this.msg().rejected = text(src, size)),
        msg_reject_code: () => 0,
        msg_reject_msg_size: () => 0n,
        msg_reject_msg_copy: () => this.trap("ic0.msg_reject_msg_copy outside a reject callback"),
        msg_cycles_refunded128: (dst: bigint) => this.mem().fill(0, Number(dst), Number(dst) + 16),
        canister_self_size: () => BigInt(this.canisterId.toUint8Array().byteLength),
        canister_self_copy: (dst: bigint, off: bigint, size: bigint) =>
          this.write(dst, this.canisterId.toUint8Array(), off, size),
        canister_status: () => 1,
        is_controller: (src: bigint, size: bigint) => {
          const p = Principal.fromUint8Array(this.read(src, size));
          return this.controllers.some((c) => c.toText() === p.toText()) ? 1 : 0;
        },
        debug_print: (src: bigint, size: bigint) => void this.logs.push(text(src, size)),
        trap: (src: bigint, size: bigint) => this.trap(text(src, size)),
        time: () => this.time,
        // Instruction counts are not available in this host: a monotonic counter stands in.
        performance_counter: (type: number) => {
          if (!this.counting) return (this.counter += 1000n);
          if (type !== 0 && type !== 1) this.trap(`ic0.performance_counter: unknown counter type ${type}`);
          return this.instructions() - this.messageStart;
        },
        global_timer_set: () => 0n,
        certified_data_set: (src: bigint, size: bigint) => {
          if (this.msg().query) this.trap("ic0.certified_data_set in a query");
          this.certifiedData = this.read(src, size);
        },
        data_certificate_present: () =>
          this.message?.query === true && this.certificate !== undefined ? 1 : 0,
        data_certificate_size: () => BigInt(this.certificate?.byteLength ?? 0),
        data_certificate_copy: (dst: bigint, off: bigint, size: bigint) =>
          this.write(dst, this.certificate ?? new Uint8Array(), off, size),
        // Stable memory is usable everywhere, `(start)` included (the spec's "* s").
        stable64_size: () => BigInt(this.stable.byteLength / PAGE),
        stable64_grow: (pages: bigint) => {
          const old = BigInt(this.stable.byteLength / PAGE);
          if (old + pages > 65536n * 4n) return U64_MAX;
          const grown = new Uint8Array(Number(old + pages) * PAGE);
          grown.set(this.stable);
          this.stable = grown;
          return old;
        },
        stable64_read: (dst: bigint, off: bigint, size: bigint) => {
          if (off + size > BigInt(this.stable.byteLength)) this.trap("stable memory read out of bounds");
          this.mem().set(this.stable.subarray(Number(off), Number(off + size)), Number(dst));
        },
        stable64_write: (off: bigint, src: bigint, size: bigint) => {
          if (off + size > BigInt(this.stable.byteLength)) this.trap("stable memory write out of bounds");
          this.stable.set(this.read(src, size), Number(off));
        },
        call_new: unsupported("call_new"),
        call_data_append: unsupported("call_data_append"),
        call_cycles_add128: unsupported("call_cycles_add128"),
        call_with_best_effort_response: unsupported("call_with_best_effort_response"),
        call_on_cleanup: unsupported("call_on_cleanup"),
        call_perform: unsupported("call_perform"),
      },
    };
  }

  /** Instantiates `module` on `memory`, running its `(start)`, which may already use the memory. */
  /** Wasm instructions executed by the current instance so far (only with countInstructions). */
  instructions(): bigint {
    const counter = this.instance?.exports[COUNTER_EXPORT] as { value: bigint } | undefined;
    if (!this.counting || counter === undefined)
      throw new Error("the host counts instructions only when installed with countInstructions");
    return counter.value;
  }

  private async instantiate(
    module: Uint8Array,
    memory: WasmMemory,
    options: { applyData: boolean },
  ): Promise<void> {
    this.memory = memory;
    const imports: WasmImportObject = { ...this.imports(), env: { mem: memory } };
    const prepared = withImportedMemory(module, options);
    const { instance } = await wasm.instantiate(
      this.counting ? instrumentInstructionCount(prepared) : prepared,
      imports,
    );
    this.instance = instance;
    this.module = module;
  }

  private run(exportName: string, message: Message, expectsReply: boolean): Outcome {
    const fn = this.instance?.exports[exportName];
    if (typeof fn !== "function") {
      return {
        result: expectsReply ? { reject: `canister has no method ${exportName}` } : {},
        trapped: false,
      };
    }
    this.message = message;
    if (this.counting) this.messageStart = this.instructions();
    try {
      (fn as () => void)();
      if (this.counting) this.lastMessageInstructions = this.instructions() - this.messageStart;
    } catch (e: unknown) {
      return { result: { reject: e instanceof Error ? e.message : String(e) }, trapped: true };
    } finally {
      this.message = undefined;
    }
    if (message.rejected !== undefined) return { result: { reject: message.rejected }, trapped: false };
    if (message.replied)
      return { result: { reply: new Uint8Array(Buffer.concat(message.reply)) }, trapped: false };
    return { result: expectsReply ? { reject: "canister did not reply to the call" } : {}, trapped: false };
  }

  /** A copy of the canister's stable memory. */
  stableMemory(): Uint8Array {
    return this.stable.slice();
  }

  /** An update call: state changes persist, unless the call traps (then they are rolled back). */
  update(method: string, arg: Uint8Array, caller: Principal): CallResult {
    const { result, trapped } = this.run(`canister_update ${method}`, newMessage(caller, arg), true);
    if (trapped) this.rollback();
    else this.commit();
    return result;
  }

  /** A query: runs against the current state, and whatever it changes is thrown away. */
  query(method: string, arg: Uint8Array, caller: Principal): CallResult {
    try {
      return this.run(`canister_query ${method}`, { ...newMessage(caller, arg), query: true }, true).result;
    } finally {
      this.rollback();
    }
  }

  /**
   * install_code in upgrade mode, as the replica runs it: canister_pre_upgrade on the old
   * instance; a new instance of `module` on the old main memory (wasm_memory_persistence =
   * keep; the new module's active data segments are not written) or on a fresh one, with fresh
   * globals, its `(start)` run; then canister_post_upgrade with `arg`. Stable memory and
   * certified data carry over. Atomic: when any step fails, the canister is as it was before.
   */
  async upgrade(
    module: Uint8Array,
    caller: Principal,
    arg: Uint8Array,
    options: UpgradeOptions = {},
  ): Promise<CallResult> {
    if (!this.controllers.some((c) => c.toText() === caller.toText())) {
      return {
        reject: `Only controllers of canister ${this.canisterId.toText()} can call ic00 method install_code`,
      };
    }
    const keep = this.keepsMainMemory(module, options);
    if (typeof keep === "string") return { reject: keep };
    const before = { memory: this.memory, instance: this.instance, module: this.module };
    const result = await this.replaceCode(module, caller, arg, keep, options.skipPreUpgrade === true);
    if (result.reject !== undefined) {
      this.memory = before.memory;
      this.instance = before.instance;
      this.module = before.module;
      this.rollback();
    } else {
      this.commit();
    }
    return result;
  }

  /** The replica's choice of main-memory handling, or why it refuses the upgrade. */
  private keepsMainMemory(module: Uint8Array, options: UpgradeOptions): boolean | string {
    const oldEop = hasMetadata(this.module, EOP_METADATA);
    const persistence =
      options.wasmMemoryPersistence === undefined ? (oldEop ? "keep" : null) : options.wasmMemoryPersistence;
    if (persistence === null && oldEop)
      return "Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.";
    if (persistence === "keep" && !hasMetadata(module, EOP_METADATA)) {
      return "The `wasm_memory_persistence: opt Keep` upgrade option requires that the new canister module supports enhanced orthogonal persistence.";
    }
    return persistence === "keep";
  }

  private async replaceCode(
    module: Uint8Array,
    caller: Principal,
    arg: Uint8Array,
    keep: boolean,
    skipPreUpgrade: boolean,
  ): Promise<CallResult> {
    if (!skipPreUpgrade) {
      const pre = this.run("canister_pre_upgrade", newMessage(caller, new Uint8Array()), false);
      if (pre.result.reject !== undefined) return { reject: `canister_pre_upgrade: ${pre.result.reject}` };
    }
    const memory = memoryFor(module, keep ? this.mem().byteLength / PAGE : 0);
    if (keep) new Uint8Array(memory.buffer).set(this.mem());
    try {
      await this.instantiate(module, memory, { applyData: !keep });
    } catch (e: unknown) {
      return { reject: `instantiating the new module: ${e instanceof Error ? e.message : String(e)}` };
    }
    const post = this.run("canister_post_upgrade", newMessage(caller, arg), false);
    if (post.result.reject !== undefined) return { reject: `canister_post_upgrade: ${post.result.reject}` };
    return {};
  }

  private commit(): void {
    this.committed.heap.commit(this.mem());
    this.committed.stable.commit(this.stable);
    this.committed.certified = this.certifiedData;
  }

  /** Main memory cannot shrink: pages grown since the commit stay, zeroed. Stable memory can. */
  private rollback(): void {
    this.committed.heap.restoreInto(this.mem());
    if (this.stable.byteLength === this.committed.stable.byteLength)
      this.committed.stable.restoreInto(this.stable);
    else this.stable = this.committed.stable.bytes();
    this.certifiedData = this.committed.certified;
  }
}
