// The real compiled ledger canister on the IC host, behind the HTTP-interface gateway, with
// `ic` backend instances talking to it through @dfinity/agent with its default settings (query
// signatures verified against the node keys the gateway certifies). Shared by the ic backend suites.
import { IDL } from "@dfinity/candid";
import type { Identity, SignIdentity } from "@dfinity/agent";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { IcLedger, type IcLedgerOptions } from "../../src/ledger/ic/ledger.ts";
import { METHODS } from "../../src/ledger/ic/idl.ts";
import { compileCanister } from "../canister/compile.ts";
import { rootKey, type TestRootKey } from "../ledger/ic/certificates.ts";
import { Gateway, type GatewayOptions } from "./gateway.ts";
import { IcHost } from "./host.ts";

const nodeMajor = Number(process.versions.node.split(".")[0]);
/** The canister is wasm64: only Node 24 runs it. */
export const skipHosted = nodeMajor < 24;
export const skipReason = `the canister is wasm64, which needs Node 24 (this is Node ${process.versions.node})`;

export const CANISTER_ID = "uxrrr-q7777-77774-qaaaq-cai";
export const GATEWAY_URL = "http://gateway.test";

export interface Hosted {
  host: IcHost;
  gateway: Gateway;
  key: TestRootKey;
  controller: SignIdentity;
  /** An `ic` backend instance as `identity` (default: the controller). */
  ledger(o?: Partial<IcLedgerOptions> & { identity?: Identity }): Promise<IcLedger>;
  /** A controller-only method, called on the host directly. */
  control(method: "add_appender" | "remove_appender" | "set_max_entry_bytes", arg: unknown): void;
}

export async function hostedCanister(
  o: {
    controller?: SignIdentity;
    countInstructions?: boolean;
    /** Further gateway options (e.g. `delegated`). */ gateway?: Omit<GatewayOptions, "host" | "key">;
  } = {},
): Promise<Hosted> {
  const { wasm } = await compileCanister();
  const controller = o.controller ?? Ed25519KeyIdentity.generate();
  const key = rootKey();
  const host = await IcHost.install(
    wasm,
    {
      canisterId: CANISTER_ID,
      controllers: [controller.getPrincipal()],
      countInstructions: o.countInstructions ?? false,
    },
    new Uint8Array(IDL.encode([], [])),
    controller.getPrincipal(),
  );
  const gateway = new Gateway({ ...o.gateway, host, key });
  return {
    host,
    gateway,
    key,
    controller,
    ledger: (o = {}) =>
      IcLedger.create({
        canisterId: CANISTER_ID,
        host: GATEWAY_URL,
        identity: controller,
        rootKey: key.der,
        fetch: gateway.fetch,
        retryBaseMs: 1,
        ...o,
      }),
    control(method, arg) {
      const m = METHODS[method];
      const result = host.update(
        method,
        new Uint8Array(IDL.encode([...m.args], [arg])),
        controller.getPrincipal(),
      );
      if (result.reject !== undefined) throw new Error(`${method}: ${result.reject}`);
    },
  };
}
