// A minimal IC system-API host for the compiled ledger (wasm64: every pointer and size is an
// i64), enough to install it and run update and query calls in Node 24, with traps rolled back.
// Not a replica: no upgrades (enhanced orthogonal persistence needs more than a kept heap),
// no cycles, no inter-canister calls, one message at a time.
import { Principal } from "@dfinity/principal";

type Exports = Record<string, unknown>;
const PAGE = 65536;

export class CanisterTrapError extends Error {
  constructor(method: string, message: string) {
    super(`${method}: canister trapped: ${message}`);
    this.name = "CanisterTrapError";
  }
}

class Trap extends Error {}

export type Reply = { kind: "reply"; data: Uint8Array } | { kind: "reject"; message: string };

type WasmApi = {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Exports };
};
const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class CanisterHost {
  readonly canisterId = Principal.fromText("lqy7q-dh777-77777-aaaaq-cai");
  controllers: Principal[] = [Principal.fromUint8Array(Uint8Array.of(1, 2, 3))];
  certifiedData: Uint8Array = new Uint8Array();
  now = 1_700_000_000_000_000_000n;
  private stable: Uint8Array = new Uint8Array(0);
  private exports: Exports = {};
  private arg: Uint8Array = new Uint8Array();
  private caller = Principal.anonymous();
  private reply: Reply | undefined;
  private replyBuf: number[] = [];
  private inQuery = false;
  private certificate: Uint8Array | undefined;
  readonly logs: string[] = [];

  private wasm: Uint8Array;

  constructor(wasm: Uint8Array) {
    this.wasm = wasm;
  }

  private mem(): Uint8Array {
    const m = this.exports["mem"] ?? this.exports["memory"];
    if (typeof m !== "object" || m === null) throw new Error("canister exports no memory");
    return new Uint8Array(Reflect.get(m, "buffer") as ArrayBuffer);
  }

  private read(p: bigint, n: bigint): Uint8Array {
    return this.mem().slice(Number(p), Number(p) + Number(n));
  }

  private ic0(): Record<string, (...a: bigint[]) => unknown> {
    const blob = (b: Uint8Array) => ({
      size: () => BigInt(b.length),
      copy: (dst: bigint, off: bigint, n: bigint) => void this.mem().set(b.subarray(Number(off), Number(off) + Number(n)), Number(dst)),
    });
    const self = () => blob(this.canisterId.toUint8Array());
    return {
      msg_arg_data_size: () => blob(this.arg).size(),
      msg_arg_data_copy: (d, o, n) => blob(this.arg).copy(d, o, n),
      msg_caller_size: () => blob(this.caller.toUint8Array()).size(),
      msg_caller_copy: (d, o, n) => blob(this.caller.toUint8Array()).copy(d, o, n),
      msg_reply_data_append: (p, n) => void this.replyBuf.push(...this.read(p, n)),
      msg_reply: () => void (this.reply = { kind: "reply", data: Uint8Array.from(this.replyBuf) }),
      msg_reject: (p, n) => void (this.reply = { kind: "reject", message: new TextDecoder().decode(this.read(p, n)) }),
      msg_reject_code: () => 0,
      msg_reject_msg_size: () => 0n,
      msg_reject_msg_copy: () => undefined,
      msg_cycles_refunded128: () => undefined,
      canister_self_size: () => self().size(),
      canister_self_copy: (d, o, n) => self().copy(d, o, n),
      canister_status: () => 1,
      is_controller: (p, n) => (this.controllers.some((c) => Buffer.from(c.toUint8Array()).equals(Buffer.from(this.read(p, n)))) ? 1 : 0),
      debug_print: (p, n) => void this.logs.push(new TextDecoder().decode(this.read(p, n))),
      trap: (p, n) => {
        throw new Trap(new TextDecoder().decode(this.read(p, n)));
      },
      time: () => this.now,
      performance_counter: () => 0n,
      global_timer_set: () => 0n,
      certified_data_set: (p, n) => {
        if (this.inQuery) throw new Trap("certified_data_set in a query");
        this.certifiedData = this.read(p, n);
      },
      data_certificate_present: () => (this.inQuery && this.certificate !== undefined ? 1 : 0),
      data_certificate_size: () => BigInt(this.certificate?.length ?? 0),
      data_certificate_copy: (d, o, n) => blob(this.certificate ?? new Uint8Array()).copy(d, o, n),
      stable64_size: () => BigInt(this.stable.length / PAGE),
      stable64_grow: (pages) => {
        const old = BigInt(this.stable.length / PAGE);
        const next = new Uint8Array(this.stable.length + Number(pages) * PAGE);
        next.set(this.stable);
        this.stable = next;
        return old;
      },
      stable64_write: (off, src, n) => void this.stable.set(this.read(src, n), Number(off)),
      stable64_read: (dst, off, n) => void this.mem().set(this.stable.subarray(Number(off), Number(off) + Number(n)), Number(dst)),
      call_new: () => {
        throw new Trap("inter-canister calls are not supported by this host");
      },
      call_data_append: () => undefined,
      call_cycles_add128: () => undefined,
      call_with_best_effort_response: () => undefined,
      call_perform: () => 1,
      call_on_cleanup: () => undefined,
    };
  }

  private instantiate(memory?: Uint8Array): void {
    const module = new webAssembly.Module(this.wasm);
    this.exports = new webAssembly.Instance(module, { ic0: this.ic0() }).exports;
    if (memory !== undefined) {
      const m = this.exports["mem"] ?? this.exports["memory"];
      const grow = Reflect.get(m as object, "grow") as (n: bigint) => unknown;
      const have = this.mem().length;
      if (memory.length > have) grow.call(m, BigInt((memory.length - have) / PAGE));
      this.mem().set(memory);
    }
  }

  private run(method: string, entry: string, arg: Uint8Array, caller: Principal, query: boolean): Reply {
    const fn = this.exports[entry];
    if (typeof fn !== "function") throw new Error(`canister exports no ${entry}`);
    this.arg = arg;
    this.caller = caller;
    this.reply = undefined;
    this.replyBuf = [];
    this.inQuery = query;
    // A trap rolls back every change of the message, and a query keeps none, as on the IC.
    const heap = this.mem().slice();
    const stable = this.stable;
    this.stable = stable.slice();
    const certified = this.certifiedData;
    const rollback = (): void => {
      const mem = this.mem();
      mem.fill(0, heap.length);
      mem.set(heap);
      this.stable = stable;
      this.certifiedData = certified;
    };
    try {
      fn();
      if (query) rollback();
    } catch (e: unknown) {
      rollback();
      if (e instanceof Trap) return { kind: "reject", message: `trapped: ${e.message}` };
      throw e;
    } finally {
      this.inQuery = false;
    }
    if (this.reply === undefined) {
      if (method === "init") return { kind: "reply", data: new Uint8Array() };
      throw new CanisterTrapError(method, "no reply");
    }
    return this.reply;
  }

  install(arg = new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0, 0])): void {
    this.instantiate();
    const r = this.run("init", "canister_init", arg, this.controllers[0] ?? Principal.anonymous(), false);
    if (r.kind === "reject" && r.message.startsWith("trapped")) throw new CanisterTrapError("init", r.message);
  }

  update(method: string, arg: Uint8Array, caller: Principal): Reply {
    return this.run(method, `canister_update ${method}`, arg, caller, false);
  }

  query(method: string, arg: Uint8Array, caller: Principal, certificate?: Uint8Array): Reply {
    this.certificate = certificate;
    return this.run(method, `canister_query ${method}`, arg, caller, true);
  }
}
