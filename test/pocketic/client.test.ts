// The PocketIC client's parts that run without a PocketIC binary: request bodies and response
// parsing against fixtures written from the server's serde types (see the sources in client.ts),
// the management canister Candid, the 202/409 polling protocol against an in-process fake, and
// process start/stop against a stand-in executable.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IDL } from "@dfinity/candid";
import { Principal } from "@dfinity/principal";
import { rootKey } from "../ledger/ic/certificates.ts";
import {
  BLS_DER_PREFIX,
  MANAGEMENT_CANISTER,
  NO_ARGS,
  PocketIcHttp,
  PocketIcInstance,
  PocketIcReject,
  PocketIcServer,
  PocketIcServerError,
  canisterCallBody,
  classifyResponse,
  createInstanceBody,
  decodeCanisterIdRecord,
  encodeInstallCode,
  encodeProvisionalCreateCanister,
  jsonBody,
  parseCanisterResult,
  parseCreateInstance,
  parseCycles,
  parseHttpGateway,
  parseJson,
  parsePortFile,
  parsePubKey,
  parseSubmitResult,
  serverArgs,
} from "./client.ts";

const nnsSubnet = Principal.fromText("tdb26-jop6k-aogll-7ltgs-eruif-6kk7m-qpktf-gdiqx-mxtrf-vb5e6-eqe");
const appSubnet = Principal.fromUint8Array(new Uint8Array(29).fill(7));
const canister = Principal.fromText("lxzze-o7777-77777-aaaaa-cai");
const anonymous = Principal.anonymous();
const b64 = (p: Principal) => Buffer.from(p.toUint8Array()).toString("base64");

// A CreateInstanceResponse::Created as a server would serialise it: topology keys are principal
// text, RawCanisterId fields base64, subnet_seed a [u8; 32] array.
const createdFixture = `{"Created":{"instance_id":3,"topology":{"subnet_configs":{
  "${nnsSubnet.toText()}":{"subnet_kind":"NNS","subnet_seed":[${new Array(32).fill(1).join(",")}],"instruction_config":"Production",
    "canister_ranges":[{"start":{"canister_id":"AAAAAAAAAAABAQ=="},"end":{"canister_id":"AAAAAAAAAAEBAQ=="}}]},
  "${appSubnet.toText()}":{"subnet_kind":"Application","subnet_seed":[${new Array(32).fill(2).join(",")}],"instruction_config":"Production",
    "canister_ranges":[{"start":{"canister_id":"/////wAAAAABAQ=="},"end":{"canister_id":"/////wAP//8BAQ=="}}]}},
  "default_effective_canister_id":{"canister_id":"/////wAAAAABAQ=="}},"http_gateway_info":null}}`;

describe("PocketIC REST bodies", () => {
  it("asks for an NNS subnet (the root key) and one application subnet, in the 13.0.0 shape", () => {
    const spec = {
      state_config: "New",
      instruction_config: "Production",
      dts_flag: "Enabled",
      cost_schedule: "Normal",
    };
    expect(JSON.parse(jsonBody(createInstanceBody()))).toEqual({
      subnet_config_set: {
        nns: spec,
        system: [],
        application: [spec],
        verified_application: [],
        cloud_engine: [],
      },
    });
    expect(createInstanceBody({ nns: false, applicationSubnets: 2 })).toEqual({
      subnet_config_set: {
        system: [],
        application: [spec, spec],
        verified_application: [],
        cloud_engine: [],
      },
    });
  });

  it("encodes a canister call with base64 principals and payload and a tagged effective principal", () => {
    const call = {
      sender: anonymous,
      canisterId: MANAGEMENT_CANISTER,
      method: "install_code",
      payload: new Uint8Array([1, 2, 3]),
    };
    expect(canisterCallBody({ ...call, effectivePrincipal: { canisterId: canister } })).toEqual({
      sender: "BA==",
      canister_id: "",
      effective_principal: { CanisterId: b64(canister) },
      method: "install_code",
      payload: "AQID",
    });
    expect(
      canisterCallBody({ ...call, effectivePrincipal: { subnetId: appSubnet } }).effective_principal,
    ).toEqual({ SubnetId: b64(appSubnet) });
    expect(canisterCallBody({ ...call, effectivePrincipal: "none" }).effective_principal).toBe("None");
  });

  it("starts the server the way the Rust client does, and reads the port only once the line is complete", () => {
    expect(serverArgs("/tmp/x/pocket-ic.port", 600)).toEqual([
      "--port-file",
      "/tmp/x/pocket-ic.port",
      "--ttl",
      "600",
    ]);
    expect(parsePortFile("")).toBeUndefined();
    expect(parsePortFile("4094")).toBeUndefined();
    expect(parsePortFile("40943\n")).toBe(40943);
    expect(parsePortFile("x\n")).toBeUndefined();
  });

  it("writes u128 amounts as JSON numbers and reads big ones back exactly", () => {
    expect(jsonBody({ canister_id: "AQ==", amount: 10n ** 30n })).toBe(
      '{"canister_id":"AQ==","amount":1000000000000000000000000000000}',
    );
    expect(parseCycles(parseJson('{"cycles":340282366920938463463374607431768211455}'))).toBe(
      2n ** 128n - 1n,
    );
    expect(parseCycles(parseJson('{"cycles":2000000000000}'))).toBe(2_000_000_000_000n);
  });
});

describe("PocketIC REST replies", () => {
  it("reads the instance id and the subnets' kinds from a Created reply", () => {
    const { instanceId, topology } = parseCreateInstance(parseJson(createdFixture));
    expect(instanceId).toBe(3);
    expect(topology.subnets.map((s) => [s.id.toText(), s.kind])).toEqual([
      [nnsSubnet.toText(), "NNS"],
      [appSubnet.toText(), "Application"],
    ]);
    expect(() => parseCreateInstance({ Error: { message: "Bad config" } })).toThrow(/Bad config/);
  });

  it("hands the submitted message id back unchanged, and turns a reject into PocketIcReject", () => {
    const ok = { Ok: { effective_principal: { CanisterId: b64(canister) }, message_id: "q83vEjRWeJA=" } };
    expect(parseSubmitResult(ok)).toEqual(ok.Ok);
    const err = {
      Err: {
        reject_code: 5,
        reject_message: "Canister has no update method 'x'",
        error_code: "IC0536",
        certified: true,
      },
    };
    expect(() => parseSubmitResult(err)).toThrow(PocketIcReject);
    expect(() => parseSubmitResult(err)).toThrow(
      /reject code 5, error code IC0536\): Canister has no update method 'x'/,
    );
  });

  it("decodes a canister reply from base64 and a reject into an error", () => {
    expect(Array.from(parseCanisterResult({ Ok: "RElETAAA" }))).toEqual(Array.from(Buffer.from("DIDL\0\0")));
    expect(() =>
      parseCanisterResult({
        Err: {
          reject_code: 4,
          reject_message: "Only controllers of canister … can call install_code",
          error_code: "IC0512",
          certified: true,
        },
      }),
    ).toThrow(/Only controllers/);
    expect(() => parseCanisterResult({ Reply: [1] })).toThrow(PocketIcServerError);
  });

  it("reads the root key from pub_key's byte array and insists on a DER BLS12-381 key", () => {
    const { der } = rootKey();
    expect(Buffer.from(der).toString("hex").startsWith(BLS_DER_PREFIX)).toBe(true);
    expect(parsePubKey(parseJson(JSON.stringify(Array.from(der))))).toEqual(der);
    expect(() => parsePubKey(Array.from(der.subarray(37)))).toThrow(/not a DER BLS12-381/);
    expect(() => parsePubKey({ message: "no such subnet" })).toThrow(PocketIcServerError);
  });

  it("reads the HTTP gateway's id and port", () => {
    expect(parseHttpGateway({ Created: { instance_id: 0, port: 41235 } })).toEqual({
      gatewayId: 0,
      port: 41235,
    });
    expect(() => parseHttpGateway({ Error: { message: "Failed to bind" } })).toThrow(/Failed to bind/);
  });

  it("tells results, running operations, a busy instance and errors apart by status", () => {
    expect(classifyResponse(200, "null")).toEqual({ kind: "done", value: null });
    expect(classifyResponse(200, "")).toEqual({ kind: "done", value: null });
    expect(classifyResponse(201, '{"Created":{}}')).toEqual({ kind: "done", value: { Created: {} } });
    expect(classifyResponse(202, '{"state_label":"AAE=","op_id":"tick"}')).toEqual({
      kind: "started",
      stateLabel: "AAE=",
      opId: "tick",
    });
    expect(classifyResponse(409, '{"state_label":"AAE=","op_id":"tick"}')).toEqual({ kind: "busy" });
    expect(classifyResponse(400, '{"message":"Instance not found"}')).toEqual({
      kind: "error",
      message: "HTTP 400: Instance not found",
    });
    expect(classifyResponse(502, '{"Error":{"message":"no gateway"}}')).toEqual({
      kind: "error",
      message: "HTTP 502: no gateway",
    });
    expect(classifyResponse(404, "")).toMatchObject({
      kind: "error",
      message: expect.stringMatching(/HTTP 404: not found/),
    });
    expect(classifyResponse(200, "<html>")).toMatchObject({ kind: "error" });
  });
});

// The management canister's types as the IC interface specification (ic.did) writes them, typed
// here independently of client.ts.
const specUpgradeMode = IDL.Opt(
  IDL.Record({
    wasm_memory_persistence: IDL.Opt(IDL.Variant({ replace: IDL.Null, keep: IDL.Null })),
    skip_pre_upgrade: IDL.Opt(IDL.Bool),
  }),
);
const specInstallCodeArgs = IDL.Record({
  arg: IDL.Vec(IDL.Nat8),
  wasm_module: IDL.Vec(IDL.Nat8),
  mode: IDL.Variant({ reinstall: IDL.Null, upgrade: specUpgradeMode, install: IDL.Null }),
  canister_id: IDL.Principal,
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

describe("management canister Candid", () => {
  const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

  it("upgrades with wasm_memory_persistence = opt variant {keep}, as Motoko's enhanced orthogonal persistence needs", () => {
    const bytes = encodeInstallCode({
      mode: { upgrade: { wasmMemoryPersistence: "keep" } },
      canisterId: canister,
      wasm,
      arg: NO_ARGS,
    });
    const [decoded] = IDL.decode([specInstallCodeArgs], bytes) as unknown as [Record<string, unknown>];
    expect(decoded["mode"]).toEqual({
      upgrade: [{ wasm_memory_persistence: [{ keep: null }], skip_pre_upgrade: [] }],
    });
    expect((decoded["canister_id"] as Principal).toText()).toBe(canister.toText());
    expect(Array.from(decoded["wasm_module"] as Uint8Array)).toEqual(Array.from(wasm));
    expect(Array.from(decoded["arg"] as Uint8Array)).toEqual(Array.from(Buffer.from("DIDL\0\0")));
  });

  it("installs with mode install", () => {
    const [decoded] = IDL.decode(
      [specInstallCodeArgs],
      encodeInstallCode({ mode: "install", canisterId: canister, wasm, arg: NO_ARGS }),
    ) as unknown as [Record<string, unknown>];
    expect(decoded["mode"]).toEqual({ install: null });
  });

  it("creates a canister with the given controllers and cycles, and reads its id from the reply", () => {
    const spec = IDL.Record({
      settings: IDL.Opt(IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) })),
      amount: IDL.Opt(IDL.Nat),
      specified_id: IDL.Opt(IDL.Principal),
    });
    const controller = Principal.fromUint8Array(new Uint8Array([9, 9, 9]));
    const [decoded] = IDL.decode(
      [spec],
      encodeProvisionalCreateCanister({ controllers: [controller], cycles: 10n ** 15n }),
    ) as unknown as [{ settings: [{ controllers: [Principal[]] }]; amount: [bigint]; specified_id: [] }];
    expect(decoded.amount).toEqual([10n ** 15n]);
    expect(decoded.settings[0].controllers[0].map((p) => p.toText())).toEqual([controller.toText()]);
    expect(decoded.specified_id).toEqual([]);
    const reply = new Uint8Array(
      IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canister }]),
    );
    expect(decodeCanisterIdRecord(reply).toText()).toBe(canister.toText());
  });
});

interface Seen {
  method: string;
  url: string;
  body: string;
}

/** An in-process stand-in for the server's operation protocol (202 + /read_graph, 409). */
async function fakeServer(
  handle: (req: Seen, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", body };
      seen.push(s);
      handle(s, res);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(body);
}

describe("the operation protocol", () => {
  it("polls /read_graph after a 202 until the result is there, then prunes it", async () => {
    let polls = 0;
    const fake = await fakeServer((req, res) => {
      if (req.method === "POST")
        return reply(res, 202, '{"state_label":"q83v-_8=","op_id":"await_ingress_message(x y)"}');
      if (req.url.startsWith("/read_graph/"))
        return ++polls < 3
          ? reply(res, 404, '{"message":"not found"}')
          : reply(res, 200, '{"Ok":"RElETAAA"}');
      return reply(res, 200, "null");
    });
    try {
      const http = new PocketIcHttp(fake.url);
      const result = await http.request("POST", "/instances/0/update/await_ingress_message", {
        message_id: "AQ==",
      });
      expect(parseCanisterResult(result)).toEqual(new Uint8Array(Buffer.from("DIDL\0\0")));
      expect(fake.seen[0]).toMatchObject({ method: "POST", body: '{"message_id":"AQ=="}' });
      expect(
        fake.seen.filter((s) => s.url === "/read_graph/q83v-_8%3D/await_ingress_message(x%20y)"),
      ).toHaveLength(3);
      await new Promise((done) => setTimeout(done, 50));
      expect(
        fake.seen.some((s) => s.method === "DELETE" && s.url.startsWith("/prune_graph/q83v-_8%3D/")),
      ).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it("retries while the instance is busy, and reports a server error with its message", async () => {
    let calls = 0;
    const fake = await fakeServer((req, res) => {
      if (req.url.endsWith("/read/pub_key"))
        return ++calls < 3
          ? reply(res, 409, '{"state_label":"AA==","op_id":"tick"}')
          : reply(res, 200, JSON.stringify(Array.from(rootKey().der)));
      return reply(res, 400, '{"message":"Instance not found"}');
    });
    try {
      const http = new PocketIcHttp(fake.url);
      expect(
        parsePubKey(await http.request("POST", "/instances/0/read/pub_key", { subnet_id: b64(nnsSubnet) })),
      ).toHaveLength(133);
      expect(calls).toBe(3);
      await expect(http.request("POST", "/instances/9/read/query", {})).rejects.toThrow(
        /POST \/instances\/9\/read\/query: HTTP 400: Instance not found/,
      );
    } finally {
      await fake.close();
    }
  });

  it("drives an instance: create, root key, canister creation and install, going live, deletion", async () => {
    const der = rootKey().der;
    const made = Principal.fromText("lxzze-o7777-77777-aaaaa-cai");
    const messageId = { effective_principal: "None", message_id: "AQID" };
    const fake = await fakeServer((req, res) => {
      const path = req.url;
      if (path === "/instances" && req.method === "POST") return reply(res, 201, createdFixture);
      if (path === "/instances/3/read/pub_key") return reply(res, 200, JSON.stringify(Array.from(der)));
      if (path === "/instances/3/update/submit_ingress_message")
        return reply(res, 200, JSON.stringify({ Ok: messageId }));
      if (path === "/instances/3/update/await_ingress_message") {
        const out = new Uint8Array(
          IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: made }]),
        );
        return reply(res, 200, JSON.stringify({ Ok: Buffer.from(out).toString("base64") }));
      }
      if (path === "/instances/3/read/ingress_status")
        return reply(res, 200, JSON.stringify({ Ok: Buffer.from(NO_ARGS).toString("base64") }));
      if (path === "/instances/3/auto_progress") return reply(res, 200, "null");
      if (path === "/http_gateway") return reply(res, 201, '{"Created":{"instance_id":1,"port":42001}}');
      if (path === "/http_gateway/1/stop" || path === "/instances/3/stop_progress")
        return reply(res, 200, "null");
      if (path === "/instances/3" && req.method === "DELETE") return reply(res, 200, "");
      return reply(res, 404, "");
    });
    try {
      const pic = await PocketIcInstance.create(new PocketIcHttp(fake.url));
      expect(pic.id).toBe(3);
      expect(await pic.rootKey()).toEqual(der);
      expect(JSON.parse(fake.seen[1]?.body ?? "")).toEqual({ subnet_id: b64(nnsSubnet) });
      const controller = Principal.fromUint8Array(new Uint8Array([5, 5]));
      const id = await pic.createCanister({
        sender: controller,
        controllers: [controller],
        cycles: 10n ** 15n,
      });
      expect(id.toText()).toBe(made.toText());
      const submitted = JSON.parse(fake.seen[2]?.body ?? "") as Record<string, unknown>;
      expect(submitted).toMatchObject({
        sender: b64(controller),
        canister_id: "",
        method: "provisional_create_canister_with_cycles",
        effective_principal: { SubnetId: b64(appSubnet) },
      });
      expect(JSON.parse(fake.seen[3]?.body ?? "")).toEqual(messageId);
      expect(await pic.makeLive()).toBe("http://127.0.0.1:42001");
      expect(JSON.parse(fake.seen.find((s) => s.url === "/http_gateway")?.body ?? "")).toEqual({
        forward_to: { PocketIcInstance: 3 },
      });
      // Live: the upgrade is awaited through read/ingress_status, not await_ingress_message.
      await pic.installCode({
        sender: controller,
        canisterId: id,
        wasm: new Uint8Array([0, 0x61, 0x73, 0x6d]),
        arg: NO_ARGS,
        mode: { upgrade: { wasmMemoryPersistence: "keep" } },
      });
      const status = fake.seen.at(-1);
      expect(status?.url).toBe("/instances/3/read/ingress_status");
      expect(JSON.parse(status?.body ?? "")).toEqual({ raw_message_id: messageId, raw_caller: null });
      const install = JSON.parse(fake.seen.at(-2)?.body ?? "") as Record<string, unknown>;
      expect(install).toMatchObject({ method: "install_code", effective_principal: { CanisterId: b64(id) } });
      await pic.delete();
      expect(fake.seen.slice(-3).map((s) => `${s.method} ${s.url}`)).toEqual([
        "POST /http_gateway/1/stop",
        "POST /instances/3/stop_progress",
        "DELETE /instances/3",
      ]);
    } finally {
      await fake.close();
    }
  });
});

describe("the server process", () => {
  const dir = mkdtempSync(join(tmpdir(), "modelchain-pocketic-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in executable that behaves like the server at start-up: name check, port file, SIGTERM. */
  function standIn(name: string, body: string): string {
    const path = join(dir, name);
    writeFileSync(path, `#!${process.execPath}\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it("runs the binary as pocket-ic, waits for its port file, and stops its process group", async () => {
    const bin = standIn(
      "server-under-another-name",
      `
const { basename } = require("node:path");
const { writeFileSync } = require("node:fs");
const http = require("node:http");
if (basename(process.argv[1]) !== "pocket-ic") { console.error("bad binary name " + process.argv[1]); process.exit(2); }
const args = process.argv.slice(2);
const portFile = args[args.indexOf("--port-file") + 1];
if (args[args.indexOf("--ttl") + 1] !== "600") process.exit(3);
const server = http.createServer((req, res) => res.end(req.url === "/status" ? "" : "x"));
server.listen(0, "127.0.0.1", () => {
  // Written in two steps: only the complete line counts.
  writeFileSync(portFile, String(server.address().port));
  setTimeout(() => writeFileSync(portFile, server.address().port + "\\n"), 200);
});
process.on("SIGTERM", () => { console.log("stopping"); process.exit(0); });`,
    );
    const server = await PocketIcServer.start({ binary: bin });
    try {
      const res = await fetch(`${server.url}/status`);
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(() => process.kill(server.pid, 0)).toThrow();
  });

  it("says why when the binary exits before writing its port, or does not exist", async () => {
    const bin = standIn(
      "pocket-ic",
      'console.error("Failed to bind PocketIC server to address 127.0.0.1:0"); process.exit(101);',
    );
    await expect(PocketIcServer.start({ binary: bin })).rejects.toThrow(
      /exited \(code 101\) before writing its port\n.*Failed to bind/s,
    );
    const missing = join(dir, "no-such", "pocket-ic");
    expect(existsSync(missing)).toBe(false);
    await expect(PocketIcServer.start({ binary: missing })).rejects.toThrow(
      /does not exist or is not executable/,
    );
  });
});
