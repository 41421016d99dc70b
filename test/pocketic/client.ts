// A small client for the PocketIC server's REST API: enough to start a server, create an
// instance, install the ledger canister and put the instance behind an HTTP gateway, so that a
// plain @dfinity/agent HttpAgent (the `ic` backend) talks to it like to a replica.
//
// No PocketIC binary can be run where this was written, so every route, JSON field and encoding
// below was taken from the upstream sources (read, not copied), newest first:
//   [pic-js]    dfinity/pic-js @ 7914404 (2026-04-14, "bump PocketIC to v13"):
//               packages/pic/src/pocket-ic-client.ts (routes), pocket-ic-client-types.ts (JSON
//               shapes, incl. the v13 `cloud_engine` / `cost_schedule` subnet fields),
//               http2-client.ts (202 → /read_graph polling, 409 busy), pocket-ic-server.ts
//               (spawn with --port-file), management-canister.ts (install_code Candid).
//   [rest.rs]   dfinity/ic packages/pocket-ic/src/common/rest.rs @ 621ebbee: the serde types both
//               sides share — principals, payloads and message ids are base64 strings
//               (`mod base64`), a bare Vec<u8> (the pub_key reply) is a JSON array of numbers,
//               enums are externally tagged ("None", {"CanisterId": …}, {"Ok": …}), and
//               ApiResponse: 200 → T, 202 → Started {state_label, op_id}, 409 → Busy, else
//               {message}.
//   [client.rs] dfinity/ic packages/pocket-ic/src/nonblocking.rs @ 4c192613: which route each
//               operation uses — root_key() = POST read/pub_key for the NNS subnet (None without
//               an NNS subnet), update calls = submit_ingress_message + await_ingress_message,
//               await_call_no_ticks (polling read/ingress_status) for live instances,
//               upgrade_eop_canister = install_code mode upgrade with wasm_memory_persistence keep,
//               make_live = auto_progress + POST /http_gateway, read_graph/prune_graph polling.
//   [routes.rs] dfinity/ic rs/pocket_ic_server/src/state_api/routes.rs @ e697b5b2 (an older
//               server): status codes — create instance / gateway answer 201, errors 400/502 with
//               {"Error": {message}}, /read_graph answers 404 while the operation still runs,
//               stop_progress and /http_gateway/{id}/stop take no body.
//   [main.rs]   dfinity/ic rs/pocket_ic_server/src/main.rs @ 03965c40: CLI --port-file, --ttl;
//               the binary must be named `pocket-ic` or `pocket-ic-server`; the port file is
//               created exclusively and is complete once it holds a line ending in "\n".
//   [process]   dfinity/ic packages/pocket-ic/src/server_process.rs @ 32b6c019: the Rust client
//               passes `--port-file <f> --ttl <s>` and stops the server by signalling its whole
//               process group (the canister sandboxes are its children); SIGTERM shuts it down
//               gracefully.
//   [changelog] dfinity/pocketic CHANGELOG.md @ a980c33 (v15.0.0, 2026-06-26): route changes up to
//               15.0.0. await_ingress_message exists in 8.0.0–9.0.2 and again from 10.0.0, so
//               this client needs a server >= 10; the request shapes are those of 13.0.0.
//   [ic.did]    the IC interface specification's management canister types
//               (provisional_create_canister_with_cycles, install_code, canister_install_mode).
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { IDL } from "@dfinity/candid";
import { Principal } from "@dfinity/principal";

// ---------------------------------------------------------------------------------------------
// Errors

/** The PocketIC server answered a request with an error (or something this client cannot read). */
export class PocketIcServerError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "PocketIcServerError";
    this.status = status;
  }
}

/** A canister (or the management canister) rejected a call made through the REST API. */
export class PocketIcReject extends Error {
  readonly rejectCode: string;
  readonly errorCode: string;
  readonly rejectMessage: string;
  constructor(rejectCode: string, errorCode: string, rejectMessage: string) {
    super(`rejected (reject code ${rejectCode}, error code ${errorCode}): ${rejectMessage}`);
    this.name = "PocketIcReject";
    this.rejectCode = rejectCode;
    this.errorCode = errorCode;
    this.rejectMessage = rejectMessage;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure encoding and parsing (unit-tested in client.test.ts)

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field(v: unknown, name: string, what: string): unknown {
  if (!isObject(v) || !(name in v))
    throw new PocketIcServerError(`${what}: expected a JSON object with "${name}", got ${preview(v)}`);
  return v[name];
}

function preview(v: unknown): string {
  const s =
    typeof v === "string"
      ? JSON.stringify(v)
      : JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
  return s === undefined ? String(v) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** [rest.rs] `mod base64`: standard alphabet, padded. */
export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function fromBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string")
    throw new PocketIcServerError(`${what}: expected a base64 string, got ${preview(value)}`);
  return new Uint8Array(Buffer.from(value, "base64"));
}

/** A principal as [rest.rs] sends it in RawCanisterId / RawSubnetId / RawCanisterCall: base64 of its bytes. */
export function rawPrincipal(p: Principal): string {
  return base64(p.toUint8Array());
}

/**
 * JSON for the server: bigints become plain number literals (serde reads u128 cycle amounts from
 * them), which JSON.stringify cannot write by itself.
 */
export function jsonBody(value: unknown): string {
  const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? rawJSON(v.toString()) : v));
}

/** JSON from the server, with integers beyond 2^53 (cycle balances are u128) read as bigint. */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return null;
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown =>
    typeof value === "number" &&
    Number.isInteger(value) &&
    !Number.isSafeInteger(value) &&
    context?.source !== undefined &&
    /^-?\d+$/.test(context.source)
      ? BigInt(context.source)
      : value;
  return JSON.parse(text, reviver as (this: unknown, key: string, value: unknown) => unknown);
}

/** [main.rs] the port file is complete once it holds a line ending in "\n". */
export function parsePortFile(text: string): number | undefined {
  if (!text.includes("\n")) return undefined;
  const port = Number(text.trim());
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

/** [main.rs] + [process]: the flags the Rust client starts the server with. */
export function serverArgs(portFile: string, ttlSeconds: number): string[] {
  return ["--port-file", portFile, "--ttl", String(ttlSeconds)];
}

/** [main.rs] refuses to start under any other file name. */
export const SERVER_BINARY_NAMES: readonly string[] = ["pocket-ic", "pocket-ic-server"];

/**
 * A new, empty subnet: [rest.rs] SubnetSpec {state_config, instruction_config} plus the fields
 * pic-js sends to a 13.0.0 server ([pic-js] EncodedSubnetConfig: dts_flag, cost_schedule).
 * serde ignores fields a given server version does not know.
 */
export function newSubnetSpec(): Json {
  return {
    state_config: "New",
    instruction_config: "Production",
    dts_flag: "Enabled",
    cost_schedule: "Normal",
  };
}

export interface CreateInstanceOptions {
  /** An NNS subnet: its key is the instance's root key ([client.rs] root_key() needs one). */
  nns?: boolean;
  applicationSubnets?: number;
}

/**
 * Body of POST /instances: [rest.rs] InstanceConfig {subnet_config_set: ExtendedSubnetConfigSet,
 * …all other fields Option}. The vectors have no serde default, so all are sent, including
 * `cloud_engine`, which a 13.0.0 server requires ([pic-js] encodeCreateInstanceRequest).
 */
export function createInstanceBody(options: CreateInstanceOptions = {}): Json {
  const nns = options.nns ?? true;
  const application = options.applicationSubnets ?? 1;
  const set: Json = {
    system: [],
    application: Array.from({ length: application }, () => newSubnetSpec()),
    verified_application: [],
    cloud_engine: [],
  };
  if (nns) set["nns"] = newSubnetSpec();
  return { subnet_config_set: set };
}

export interface SubnetInfo {
  id: Principal;
  /** [rest.rs] SubnetKind: "Application", "NNS", "System", … */
  kind: string;
}

export interface Topology {
  subnets: SubnetInfo[];
}

/**
 * [rest.rs] Topology {subnet_configs: BTreeMap<Principal, SubnetConfig>, …}: the map keys are
 * principals, which serde_json writes as their text form ([pic-js] decodeGetTopologyResponse).
 */
export function parseTopology(raw: unknown): Topology {
  const configs = field(raw, "subnet_configs", "topology");
  if (!isObject(configs))
    throw new PocketIcServerError(`topology: subnet_configs is not an object: ${preview(configs)}`);
  const subnets = Object.entries(configs).map(([id, config]) => {
    let principal: Principal;
    try {
      principal = Principal.fromText(id);
    } catch (e: unknown) {
      throw new PocketIcServerError(
        `topology: subnet id ${JSON.stringify(id)} is not a principal`,
        undefined,
        { cause: e },
      );
    }
    const kind = field(config, "subnet_kind", `topology of subnet ${id}`);
    if (typeof kind !== "string")
      throw new PocketIcServerError(`topology of subnet ${id}: subnet_kind is ${preview(kind)}`);
    return { id: principal, kind };
  });
  return { subnets };
}

/** [rest.rs] CreateInstanceResponse: {"Created": {instance_id, topology, …}} | {"Error": {message}}. */
export function parseCreateInstance(raw: unknown): { instanceId: number; topology: Topology } {
  if (isObject(raw) && isObject(raw["Error"]))
    throw new PocketIcServerError(`creating an instance: ${String(raw["Error"]["message"])}`);
  const created = field(raw, "Created", "create instance response");
  const instanceId = field(created, "instance_id", "create instance response");
  if (typeof instanceId !== "number")
    throw new PocketIcServerError(`create instance response: instance_id is ${preview(instanceId)}`);
  return { instanceId, topology: parseTopology(field(created, "topology", "create instance response")) };
}

export type EffectivePrincipal = { subnetId: Principal } | { canisterId: Principal } | "none";

/** [rest.rs] RawEffectivePrincipal, externally tagged: "None" | {"SubnetId": b64} | {"CanisterId": b64}. */
export function effectivePrincipalJson(ep: EffectivePrincipal): unknown {
  if (ep === "none") return "None";
  return "subnetId" in ep
    ? { SubnetId: rawPrincipal(ep.subnetId) }
    : { CanisterId: rawPrincipal(ep.canisterId) };
}

export interface CanisterCall {
  /** Impersonated: PocketIC does not check a signature on REST calls. */
  sender: Principal;
  canisterId: Principal;
  method: string;
  payload: Uint8Array;
  effectivePrincipal: EffectivePrincipal;
}

/** [rest.rs] RawCanisterCall: sender, canister_id and payload base64; method text. */
export function canisterCallBody(call: CanisterCall): Json {
  return {
    sender: rawPrincipal(call.sender),
    canister_id: rawPrincipal(call.canisterId),
    effective_principal: effectivePrincipalJson(call.effectivePrincipal),
    method: call.method,
    payload: base64(call.payload),
  };
}

/** [rest.rs] RawMessageId, handed back to the server exactly as it came. */
export interface RawMessageId {
  effective_principal: unknown;
  message_id: unknown;
}

function rejectFrom(err: unknown): PocketIcReject {
  const get = (name: string): string => (isObject(err) && name in err ? String(err[name]) : "?");
  return new PocketIcReject(get("reject_code"), get("error_code"), get("reject_message"));
}

/** Reply of submit_ingress_message: Result<RawMessageId, RejectResponse> = {"Ok": …} | {"Err": …}. */
export function parseSubmitResult(raw: unknown): RawMessageId {
  if (isObject(raw) && "Err" in raw) throw rejectFrom(raw["Err"]);
  const ok = field(raw, "Ok", "submit_ingress_message response");
  if (!isObject(ok) || !("message_id" in ok) || !("effective_principal" in ok)) {
    throw new PocketIcServerError(`submit_ingress_message response: no message id in ${preview(ok)}`);
  }
  return { effective_principal: ok["effective_principal"], message_id: ok["message_id"] };
}

/** [rest.rs] RawCanisterResult: {"Ok": b64 reply} | {"Err": RejectResponse}. */
export function parseCanisterResult(raw: unknown): Uint8Array {
  if (isObject(raw) && "Err" in raw) throw rejectFrom(raw["Err"]);
  return fromBase64(field(raw, "Ok", "canister call result"), "canister reply");
}

/** DER header of an IC BLS12-381 public key (the IC interface specification, "Root of trust"). */
export const BLS_DER_PREFIX = "308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100";

/** Reply of read/pub_key: a bare Vec<u8>, so a JSON array of byte values, holding the DER key. */
export function parsePubKey(raw: unknown): Uint8Array {
  const bytes =
    Array.isArray(raw) && raw.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b < 256)
      ? Uint8Array.from(raw as number[])
      : typeof raw === "string"
        ? fromBase64(raw, "pub_key")
        : undefined;
  if (bytes === undefined)
    throw new PocketIcServerError(`pub_key: expected the key's bytes, got ${preview(raw)}`);
  const hex = Buffer.from(bytes).toString("hex");
  if (bytes.length !== 133 || !hex.startsWith(BLS_DER_PREFIX)) {
    throw new PocketIcServerError(
      `pub_key: ${bytes.length} bytes that are not a DER BLS12-381 public key (${hex.slice(0, 80)}…)`,
    );
  }
  return bytes;
}

/** Body of POST /http_gateway: [rest.rs] HttpGatewayConfig with only `forward_to` set. */
export function httpGatewayBody(instanceId: number): Json {
  return { forward_to: { PocketIcInstance: instanceId } };
}

/** [rest.rs] CreateHttpGatewayResponse: {"Created": {instance_id, port}} | {"Error": {message}}. */
export function parseHttpGateway(raw: unknown): { gatewayId: number; port: number } {
  if (isObject(raw) && isObject(raw["Error"]))
    throw new PocketIcServerError(`starting the HTTP gateway: ${String(raw["Error"]["message"])}`);
  const created = field(raw, "Created", "create HTTP gateway response");
  const gatewayId = field(created, "instance_id", "create HTTP gateway response");
  const port = field(created, "port", "create HTTP gateway response");
  if (typeof gatewayId !== "number" || typeof port !== "number")
    throw new PocketIcServerError(`create HTTP gateway response: ${preview(created)}`);
  return { gatewayId, port };
}

/** [rest.rs] RawCycles {cycles: u128}. */
export function parseCycles(raw: unknown): bigint {
  const cycles = field(raw, "cycles", "cycles response");
  if (typeof cycles === "bigint") return cycles;
  if (typeof cycles === "number" && Number.isSafeInteger(cycles)) return BigInt(cycles);
  throw new PocketIcServerError(`cycles response: ${preview(cycles)}`);
}

export type Outcome =
  | { kind: "done"; value: unknown }
  | { kind: "started"; stateLabel: string; opId: string }
  | { kind: "busy" }
  | { kind: "error"; message: string };

/**
 * What a server response means ([rest.rs] ApiResponse::from_response, [routes.rs]): 200 and 201
 * carry the result; 202 says the operation runs (poll /read_graph); 409 says the instance is busy
 * with another one (retry); anything else is an error with a {message} (or {"Error": {message}},
 * or plain text from the /api endpoints and the 404 fallback).
 */
export function classifyResponse(status: number, text: string): Outcome {
  let body: unknown;
  try {
    body = parseJson(text);
  } catch {
    body = undefined;
  }
  if (status === 200 || status === 201) {
    if (body === undefined)
      return { kind: "error", message: `HTTP ${status} with a body that is not JSON: ${text.slice(0, 300)}` };
    return { kind: "done", value: body };
  }
  if (
    status === 202 &&
    isObject(body) &&
    typeof body["state_label"] === "string" &&
    typeof body["op_id"] === "string"
  ) {
    return { kind: "started", stateLabel: body["state_label"], opId: body["op_id"] };
  }
  if (status === 409) return { kind: "busy" };
  const message =
    isObject(body) && typeof body["message"] === "string"
      ? body["message"]
      : isObject(body) && isObject(body["Error"]) && typeof body["Error"]["message"] === "string"
        ? body["Error"]["message"]
        : text.trim() === ""
          ? status === 404
            ? "not found (no such route or instance — is the server older than 10.0.0?)"
            : "(empty body)"
          : text.slice(0, 1000);
  return { kind: "error", message: `HTTP ${status}: ${message}` };
}

// Management canister types, from the IC interface specification (ic.did); [pic-js]
// management-canister.ts and [client.rs] use the same records.
const CanisterSettings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
});
const ProvisionalCreateCanisterArgs = IDL.Record({
  amount: IDL.Opt(IDL.Nat),
  settings: IDL.Opt(CanisterSettings),
  specified_id: IDL.Opt(IDL.Principal),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
const CanisterIdRecord = IDL.Record({ canister_id: IDL.Principal });
const UpgradeOptions = IDL.Record({
  skip_pre_upgrade: IDL.Opt(IDL.Bool),
  wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
});
const CanisterInstallMode = IDL.Variant({
  install: IDL.Null,
  reinstall: IDL.Null,
  upgrade: IDL.Opt(UpgradeOptions),
});
const InstallCodeArgs = IDL.Record({
  mode: CanisterInstallMode,
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export const MANAGEMENT_CANISTER = Principal.fromText("aaaaa-aa");

/** An empty Candid argument list, `()`. */
export const NO_ARGS: Uint8Array = new Uint8Array(IDL.encode([], []));

export function encodeProvisionalCreateCanister(options: {
  controllers: Principal[];
  cycles: bigint;
}): Uint8Array {
  const settings = {
    controllers: [options.controllers],
    compute_allocation: [],
    memory_allocation: [],
    freezing_threshold: [],
  };
  return new Uint8Array(
    IDL.encode(
      [ProvisionalCreateCanisterArgs],
      [{ amount: [options.cycles], settings: [settings], specified_id: [], sender_canister_version: [] }],
    ),
  );
}

export function decodeCanisterIdRecord(reply: Uint8Array): Principal {
  const [record] = IDL.decode([CanisterIdRecord], reply) as unknown as [{ canister_id: Principal }];
  return record.canister_id;
}

export type InstallMode =
  | "install"
  | "reinstall"
  /** Motoko's enhanced orthogonal persistence needs wasm_memory_persistence "keep" ([client.rs] upgrade_eop_canister). */
  | { upgrade: { wasmMemoryPersistence?: "keep" | "replace"; skipPreUpgrade?: boolean } };

export function encodeInstallCode(options: {
  mode: InstallMode;
  canisterId: Principal;
  wasm: Uint8Array;
  arg: Uint8Array;
}): Uint8Array {
  const mode =
    options.mode === "install"
      ? { install: null }
      : options.mode === "reinstall"
        ? { reinstall: null }
        : {
            upgrade: [
              {
                skip_pre_upgrade:
                  options.mode.upgrade.skipPreUpgrade === undefined
                    ? []
                    : [options.mode.upgrade.skipPreUpgrade],
                wasm_memory_persistence:
                  options.mode.upgrade.wasmMemoryPersistence === undefined
                    ? []
                    : [{ [options.mode.upgrade.wasmMemoryPersistence]: null }],
              },
            ],
          };
  return new Uint8Array(
    IDL.encode(
      [InstallCodeArgs],
      [
        {
          mode,
          canister_id: options.canisterId,
          wasm_module: options.wasm,
          arg: options.arg,
          sender_canister_version: [],
        },
      ],
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// HTTP: requests with the server's 202/409 protocol

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export interface PocketIcHttpOptions {
  /** How long one operation may take, polling included (default five minutes). */
  operationTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** The server's REST endpoint, e.g. http://127.0.0.1:PORT. */
export class PocketIcHttp {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(url: string, options: PocketIcHttpOptions = {}) {
    this.url = url.replace(/\/+$/, "");
    this.timeoutMs = options.operationTimeoutMs ?? 300_000;
    this.fetchFn = options.fetch ?? globalThis.fetch;
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    deadline: number,
  ): Promise<{ status: number; text: string }> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) };
    if (body !== undefined) {
      init.headers = { "content-type": "application/json" };
      init.body = jsonBody(body);
    }
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}${path}`, init);
    } catch (e: unknown) {
      throw new PocketIcServerError(
        `${method} ${path}: ${e instanceof Error ? e.message : String(e)}`,
        undefined,
        { cause: e },
      );
    }
    return { status: res.status, text: await res.text() };
  }

  /**
   * One operation: the result of a 200/201, after polling GET /read_graph/{state_label}/{op_id}
   * (404 while it runs) when the server answers 202, and retrying while it answers 409.
   */
  async request(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<unknown> {
    const deadline = Date.now() + this.timeoutMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      const { status, text } = await this.send(method, path, body, deadline);
      const outcome = classifyResponse(status, text);
      if (outcome.kind === "done") return outcome.value;
      if (outcome.kind === "error")
        throw new PocketIcServerError(`${method} ${path}: ${outcome.message}`, status);
      if (outcome.kind === "started")
        return this.poll(method, path, outcome.stateLabel, outcome.opId, deadline);
      if (Date.now() + delay > deadline)
        throw new PocketIcServerError(
          `${method} ${path}: the instance stayed busy for ${this.timeoutMs} ms`,
          status,
        );
      await sleep(delay);
    }
  }

  private async poll(
    method: string,
    path: string,
    stateLabel: string,
    opId: string,
    deadline: number,
  ): Promise<unknown> {
    const graph = `${encodeURIComponent(stateLabel)}/${encodeURIComponent(opId)}`;
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      if (Date.now() + delay > deadline)
        throw new PocketIcServerError(
          `${method} ${path}: operation ${opId} did not finish in ${this.timeoutMs} ms`,
        );
      await sleep(delay);
      const { status, text } = await this.send("GET", `/read_graph/${graph}`, undefined, deadline);
      if (status === 404) continue;
      const outcome = classifyResponse(status, text);
      if (outcome.kind === "started" || outcome.kind === "busy") continue;
      // Free the stored result ([changelog] 11.0.0); older servers answer 404, which is fine.
      void this.send("DELETE", `/prune_graph/${graph}`, undefined, Date.now() + 10_000).catch(
        () => undefined,
      );
      if (outcome.kind === "error")
        throw new PocketIcServerError(`${method} ${path}: ${outcome.message}`, status);
      return outcome.value;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

export interface StartServerOptions {
  /** Path to the PocketIC server binary (POCKET_IC_BIN). */
  binary: string;
  /** The server stops by itself after this many idle seconds (a backstop; default 600). */
  ttlSeconds?: number;
  startTimeoutMs?: number;
  /** Copy the server's output to this process's stderr. */
  echo?: boolean;
  operationTimeoutMs?: number;
}

/** The last `limit` characters of the server's output, for error messages. */
class Tail {
  private text = "";
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  add(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}

function checkBinary(binary: string): void {
  let executable: boolean;
  try {
    executable = statSync(binary).isFile();
    accessSync(binary, constants.X_OK);
  } catch {
    executable = false;
  }
  if (!executable)
    throw new PocketIcServerError(`PocketIC server binary ${binary} does not exist or is not executable`);
}

/** A PocketIC server started by this process, in its own process group. */
export class PocketIcServer {
  readonly http: PocketIcHttp;
  readonly url: string;
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private readonly output: Tail;
  private readonly onExit: () => void;

  private constructor(
    child: ChildProcess,
    port: number,
    dir: string,
    output: Tail,
    options: StartServerOptions,
  ) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.dir = dir;
    this.output = output;
    this.url = `http://127.0.0.1:${port}`;
    this.http = new PocketIcHttp(
      this.url,
      options.operationTimeoutMs === undefined ? {} : { operationTimeoutMs: options.operationTimeoutMs },
    );
    this.onExit = () => this.signal("SIGKILL");
    process.on("exit", this.onExit);
  }

  static async start(options: StartServerOptions): Promise<PocketIcServer> {
    const binary = resolve(options.binary);
    checkBinary(binary);
    const dir = mkdtempSync(join(tmpdir(), "modelchain-pocketic-"));
    let command = binary;
    if (!SERVER_BINARY_NAMES.includes(basename(binary))) {
      command = join(dir, "pocket-ic");
      symlinkSync(binary, command);
    }
    // Created by the server with create_new: it must not exist yet.
    const portFile = join(dir, "pocket-ic.port");
    const output = new Tail(16_384);
    // detached: the server leads a new process group, so stop() reaches its sandboxes too.
    const child = spawn(command, serverArgs(portFile, options.ttlSeconds ?? 600), {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const state: { failure?: string } = {};
    child.on("error", (e) => {
      state.failure = `could not start ${command}: ${e.message}`;
    });
    child.on("exit", (code, signal) => {
      state.failure ??= `${command} exited (${signal ?? `code ${code}`}) before writing its port`;
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        output.add(chunk);
        if (options.echo === true) process.stderr.write(chunk);
      });
    }
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    for (;;) {
      if (state.failure !== undefined) {
        rmSync(dir, { recursive: true, force: true });
        throw new PocketIcServerError(`${state.failure}\n${output.toString()}`);
      }
      let port: number | undefined;
      try {
        port = parsePortFile(readFileSync(portFile, "utf8"));
      } catch {
        port = undefined;
      }
      if (port !== undefined) return new PocketIcServer(child, port, dir, output, options);
      if (Date.now() > deadline) {
        try {
          process.kill(-(child.pid ?? 0), "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
        rmSync(dir, { recursive: true, force: true });
        throw new PocketIcServerError(
          `${command} wrote no port to ${portFile} within ${options.startTimeoutMs ?? 60_000} ms\n${output.toString()}`,
        );
      }
      await sleep(50);
    }
  }

  /** The server's recent output (for failure messages). */
  logs(): string {
    return this.output.toString();
  }

  private running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running() || this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGTERM to the server's process group ([process]: a graceful shutdown), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.running()) {
      const exited = new Promise<void>((done) => this.child.once("exit", () => done()));
      this.signal("SIGTERM");
      const graceful = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!graceful) {
        this.signal("SIGKILL");
        await Promise.race([exited, sleep(5_000)]);
      }
    }
    process.off("exit", this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// An instance

export interface CreateCanisterOptions {
  sender: Principal;
  controllers: Principal[];
  /** Cycles the canister is created with (provisional: PocketIC allows any caller). */
  cycles: bigint;
  /** Default: the first application subnet. */
  subnet?: Principal;
}

export interface InstallCodeOptions {
  sender: Principal;
  canisterId: Principal;
  wasm: Uint8Array;
  arg: Uint8Array;
  mode: InstallMode;
}

/** One IC instance on a PocketIC server. */
export class PocketIcInstance {
  readonly http: PocketIcHttp;
  readonly id: number;
  readonly topology: Topology;
  private live = false;
  private gateway: { gatewayId: number; port: number } | undefined;

  private constructor(http: PocketIcHttp, id: number, topology: Topology) {
    this.http = http;
    this.id = id;
    this.topology = topology;
  }

  /** POST /instances. */
  static async create(http: PocketIcHttp, options: CreateInstanceOptions = {}): Promise<PocketIcInstance> {
    const { instanceId, topology } = parseCreateInstance(
      await http.request("POST", "/instances", createInstanceBody(options)),
    );
    return new PocketIcInstance(http, instanceId, topology);
  }

  private path(rest: string): string {
    return `/instances/${this.id}${rest}`;
  }

  subnet(kind: string): Principal {
    const found = this.topology.subnets.find((s) => s.kind === kind);
    if (found === undefined)
      throw new PocketIcServerError(
        `instance ${this.id} has no ${kind} subnet (${this.topology.subnets.map((s) => s.kind).join(", ")})`,
      );
    return found.id;
  }

  /** The instance's root key (DER): the NNS subnet's public key, POST read/pub_key ([client.rs] root_key). */
  async rootKey(): Promise<Uint8Array> {
    return parsePubKey(
      await this.http.request("POST", this.path("/read/pub_key"), {
        subnet_id: rawPrincipal(this.subnet("NNS")),
      }),
    );
  }

  /**
   * An update call as an ingress message: submit_ingress_message, then await_ingress_message
   * (which executes rounds until it completes); on a live instance, whose rounds run by
   * themselves, poll read/ingress_status instead ([client.rs] await_call_no_ticks).
   */
  async updateCall(call: CanisterCall): Promise<Uint8Array> {
    const what = `${call.method} on ${call.canisterId.toText()}`;
    try {
      const messageId = parseSubmitResult(
        await this.http.request("POST", this.path("/update/submit_ingress_message"), canisterCallBody(call)),
      );
      if (!this.live)
        return parseCanisterResult(
          await this.http.request("POST", this.path("/update/await_ingress_message"), messageId),
        );
      const deadline = Date.now() + 300_000;
      for (let delay = 10; ; delay = Math.min(delay * 2, 1000)) {
        const status = await this.http.request("POST", this.path("/read/ingress_status"), {
          raw_message_id: messageId,
          raw_caller: null,
        });
        if (status !== null) return parseCanisterResult(status);
        if (Date.now() > deadline) throw new PocketIcServerError(`${what}: no result after 300 s`);
        await sleep(delay);
      }
    } catch (e: unknown) {
      if (e instanceof PocketIcReject)
        throw new PocketIcReject(e.rejectCode, e.errorCode, `${what}: ${e.rejectMessage}`);
      throw e;
    }
  }

  /** POST read/query. */
  async queryCall(call: CanisterCall): Promise<Uint8Array> {
    return parseCanisterResult(
      await this.http.request("POST", this.path("/read/query"), canisterCallBody(call)),
    );
  }

  /** provisional_create_canister_with_cycles on the chosen subnet's management canister. */
  async createCanister(options: CreateCanisterOptions): Promise<Principal> {
    const reply = await this.updateCall({
      sender: options.sender,
      canisterId: MANAGEMENT_CANISTER,
      method: "provisional_create_canister_with_cycles",
      payload: encodeProvisionalCreateCanister({ controllers: options.controllers, cycles: options.cycles }),
      effectivePrincipal: { subnetId: options.subnet ?? this.subnet("Application") },
    });
    return decodeCanisterIdRecord(reply);
  }

  /** install_code (install, reinstall or upgrade) as `sender`, who must control the canister. */
  async installCode(options: InstallCodeOptions): Promise<void> {
    await this.updateCall({
      sender: options.sender,
      canisterId: MANAGEMENT_CANISTER,
      method: "install_code",
      payload: encodeInstallCode(options),
      effectivePrincipal: { canisterId: options.canisterId },
    });
  }

  /** POST update/add_cycles; returns the new balance. */
  async addCycles(canisterId: Principal, amount: bigint): Promise<bigint> {
    return parseCycles(
      await this.http.request("POST", this.path("/update/add_cycles"), {
        canister_id: rawPrincipal(canisterId),
        amount,
      }),
    );
  }

  /**
   * Makes the instance progress by itself (POST /instances/{id}/auto_progress, which also sets its
   * time to now) and starts an HTTP gateway in front of it (POST /http_gateway). Returns the
   * gateway's URL, where /api/v2 and /api/v3 requests reach the instance.
   */
  async makeLive(host = "127.0.0.1"): Promise<string> {
    if (!this.live) {
      await this.http.request("POST", this.path("/auto_progress"), { artificial_delay_ms: null });
      this.live = true;
    }
    this.gateway ??= parseHttpGateway(
      await this.http.request("POST", "/http_gateway", httpGatewayBody(this.id)),
    );
    return `http://${host}:${this.gateway.port}`;
  }

  /** Stops the HTTP gateway and the automatic progress. */
  async stopLive(): Promise<void> {
    if (this.gateway !== undefined) {
      await this.http.request("POST", `/http_gateway/${this.gateway.gatewayId}/stop`);
      this.gateway = undefined;
    }
    if (this.live) {
      await this.http.request("POST", this.path("/stop_progress"));
      this.live = false;
    }
  }

  /** DELETE /instances/{id}. */
  async delete(): Promise<void> {
    try {
      await this.stopLive();
    } finally {
      await this.http.request("DELETE", this.path(""));
    }
  }
}
