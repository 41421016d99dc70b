// A minimal IC system-API host: runs a compiled canister (wasm64, as the motoko package emits
// it) under Node 24 by implementing the ic0 imports it asks for. A test harness, not a
// replica: no consensus, cycles, inter-canister calls or instruction limits.
import { Principal } from "@dfinity/principal";
import { withImportedMemory } from "./import-memory.ts";

const PAGE = 65536n;
const U64_MAX = (1n << 64n) - 1n;

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

interface Snapshot {
  heap: Uint8Array;
  stable: Uint8Array;
  certified: Uint8Array;
}

interface Message {
  arg: Uint8Array;
  caller: Uint8Array;
  reply: Uint8Array[];
  replied: boolean;
  rejected?: string;
  query: boolean;
}

// The WebAssembly API in the few shapes used here (the project compiles without the DOM lib).
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: bigint): bigint;
}
interface WasmInstance {
  exports: Record<string, unknown>;
}
type WasmImports = Record<string, Record<string, (...args: never[]) => unknown>>;
type WasmImportObject = Record<string, Record<string, unknown>>;
const wasm = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: WasmImportObject): Promise<{ instance: WasmInstance }>; Memory: new (d: { initial: bigint; address: "i64" }) => WasmMemory };
}).WebAssembly;

type Exports = Record<string, unknown> & { mem: WasmMemory };

export interface HostOptions {
  canisterId: string;
  controllers: Principal[];
  /** Nanoseconds since the epoch; settable between calls. */
  time?: bigint;
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
  private instance: WasmInstance | undefined;
  private message: Message | undefined;
  private counter = 0n;

  private constructor(o: HostOptions) {
    this.canisterId = Principal.fromText(o.canisterId);
    this.controllers = o.controllers;
    this.time = o.time ?? BigInt(Date.now()) * 1_000_000n;
  }

  static async install(wasm: Uint8Array, o: HostOptions, initArg: Uint8Array, installer: Principal): Promise<IcHost> {
    const host = new IcHost(o);
    await host.instantiate(wasm);
    host.run("canister_init", { arg: initArg, caller: installer.toUint8Array(), reply: [], replied: false, query: false });
    return host;
  }

  private get exports(): Exports {
    if (this.instance === undefined) throw new Error("no canister installed");
    return this.instance.exports as Exports;
  }

  private mem(): Uint8Array {
    return new Uint8Array(this.exports.mem.buffer);
  }

  private read(ptr: bigint, size: bigint): Uint8Array {
    return this.mem().slice(Number(ptr), Number(ptr + size));
  }

  private write(dst: bigint, bytes: Uint8Array, offset: bigint, size: bigint): void {
    const from = Number(offset);
    if (from + Number(size) > bytes.byteLength) this.trap(`copy of ${size} bytes from offset ${offset} exceeds ${bytes.byteLength}`);
    this.mem().set(bytes.subarray(from, from + Number(size)), Number(dst));
  }

  private msg(): Message {
    if (this.message === undefined) this.trap("no message in progress");
    return this.message as Message;
  }

  private trap(text: string): never {
    throw new CanisterTrap(text);
  }

  private imports(): WasmImports {
    const unsupported = (name: string) => () => this.trap(`ic0.${name}: inter-canister calls are not supported by this host`);
    return {
      ic0: {
        msg_arg_data_size: () => BigInt(this.msg().arg.byteLength),
        msg_arg_data_copy: (dst: bigint, off: bigint, size: bigint) => this.write(dst, this.msg().arg, off, size),
        msg_caller_size: () => BigInt(this.msg().caller.byteLength),
        msg_caller_copy: (dst: bigint, off: bigint, size: bigint) => this.write(dst, this.msg().caller, off, size),
        msg_reply_data_append: (src: bigint, size: bigint) => void this.msg().reply.push(this.read(src, size)),
        msg_reply: () => void (this.msg().replied = true),
        msg_reject: (src: bigint, size: bigint) => void (this.msg().rejected = new TextDecoder().decode(this.read(src, size))),
        msg_reject_code: () => 0,
        msg_reject_msg_size: () => 0n,
        msg_reject_msg_copy: () => this.trap("ic0.msg_reject_msg_copy outside a reject callback"),
        msg_cycles_refunded128: (dst: bigint) => this.mem().fill(0, Number(dst), Number(dst) + 16),
        canister_self_size: () => BigInt(this.canisterId.toUint8Array().byteLength),
        canister_self_copy: (dst: bigint, off: bigint, size: bigint) => this.write(dst, this.canisterId.toUint8Array(), off, size),
        canister_status: () => 1,
        is_controller: (src: bigint, size: bigint) => {
          const p = Principal.fromUint8Array(this.read(src, size));
          return this.controllers.some((c) => c.toText() === p.toText()) ? 1 : 0;
        },
        debug_print: (src: bigint, size: bigint) => void this.logs.push(new TextDecoder().decode(this.read(src, size))),
        trap: (src: bigint, size: bigint) => this.trap(new TextDecoder().decode(this.read(src, size))),
        time: () => this.time,
        // Instruction counts are not available in this host: a monotonic counter stands in.
        performance_counter: () => (this.counter += 1000n),
        global_timer_set: () => 0n,
        certified_data_set: (src: bigint, size: bigint) => {
          if (this.msg().query) this.trap("ic0.certified_data_set in a query");
          this.certifiedData = this.read(src, size);
        },
        data_certificate_present: () => (this.msg().query && this.certificate !== undefined ? 1 : 0),
        data_certificate_size: () => BigInt(this.certificate?.byteLength ?? 0),
        data_certificate_copy: (dst: bigint, off: bigint, size: bigint) => this.write(dst, this.certificate ?? new Uint8Array(), off, size),
        stable64_size: () => BigInt(this.stable.byteLength) / PAGE,
        stable64_grow: (pages: bigint) => {
          const old = BigInt(this.stable.byteLength) / PAGE;
          if (old + pages > 65536n * 4n) return U64_MAX;
          const grown = new Uint8Array(Number((old + pages) * PAGE));
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
          if (this.msg().query) this.trap("stable memory write in a query");
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

  private async instantiate(module: Uint8Array, memory?: WasmMemory): Promise<void> {
    const imports: WasmImportObject = this.imports();
    if (memory !== undefined) imports["env"] = { mem: memory };
    const { instance } = await wasm.instantiate(memory === undefined ? module : withImportedMemory(module), imports);
    this.instance = instance;
  }

  private run(exportName: string, message: Message): CallResult {
    const fn = this.exports[exportName];
    if (typeof fn !== "function") return { reject: `canister has no method ${exportName}` };
    this.message = message;
    try {
      (fn as () => void)();
    } catch (e: unknown) {
      return { reject: e instanceof Error ? e.message : String(e) };
    } finally {
      this.message = undefined;
    }
    if (message.rejected !== undefined) return { reject: message.rejected };
    return message.replied ? { reply: new Uint8Array(Buffer.concat(message.reply)) } : {};
  }

  /** A copy of the canister's stable memory. */
  stableMemory(): Uint8Array {
    return this.stable.slice();
  }

  /** An update call: state changes persist, unless the call traps (then they are rolled back). */
  update(method: string, arg: Uint8Array, caller: Principal): CallResult {
    const snapshot = this.snapshot();
    const result = this.run(`canister_update ${method}`, { arg, caller: caller.toUint8Array(), reply: [], replied: false, query: false });
    if (result.reject !== undefined) this.restore(snapshot);
    return result;
  }

  /** A query: runs against the current state, and whatever it changes is thrown away. */
  query(method: string, arg: Uint8Array, caller: Principal): CallResult {
    const snapshot = this.snapshot();
    try {
      return this.run(`canister_query ${method}`, { arg, caller: caller.toUint8Array(), reply: [], replied: false, query: true });
    } finally {
      this.restore(snapshot);
    }
  }

  /**
   * Upgrade: pre_upgrade, a new instance of `wasm`, stable memory carried over and — because
   * Motoko's enhanced orthogonal persistence keeps the heap itself persistent — main memory
   * too, then post_upgrade.
   */
  async upgrade(module: Uint8Array, caller: Principal, arg: Uint8Array): Promise<CallResult> {
    const pre = this.run("canister_pre_upgrade", { arg: new Uint8Array(), caller: caller.toUint8Array(), reply: [], replied: false, query: false });
    if (pre.reject !== undefined) return pre;
    const heap = this.mem().slice();
    const memory = new wasm.Memory({ initial: BigInt(heap.byteLength) / PAGE, address: "i64" });
    new Uint8Array(memory.buffer).set(heap);
    await this.instantiate(module, memory);
    return this.run("canister_post_upgrade", { arg, caller: caller.toUint8Array(), reply: [], replied: false, query: false });
  }

  private snapshot(): Snapshot {
    return { heap: this.mem().slice(), stable: this.stable.slice(), certified: this.certifiedData };
  }

  private restore(s: Snapshot): void {
    this.mem().set(s.heap);
    this.stable = s.stable;
    this.certifiedData = s.certified;
  }
}
