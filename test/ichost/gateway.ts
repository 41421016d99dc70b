// The IC's HTTP interface over an IcHost, as a `fetch` function: @dfinity/agent's HttpAgent
// (and so the `ic` ledger backend, unchanged) talks to the compiled canister through it.
//
//   GET  /api/v2/status                          root key (for fetchRootKey)
//   POST /api/v3/canister/<id>/call              runs the update; replies with a certificate
//                                                over request_status/<request id>/…, signed by
//                                                the test root key, as a replica does
//   POST /api/v2/canister/<id>/query             runs the query; its data certificate is made
//                                                over the canister's certified data
//
// Test infrastructure: no node signatures on queries (agents use verifyQuerySignatures: false
// here), no read_state, no ingress expiry checks. Faults can be injected to test retries.
import { Cbor, requestIdOf, type HashTree } from "@dfinity/agent";
import { Principal } from "@dfinity/principal";
import { certifiedDataNode, fork, labeled, leaf, leb128, signTree, timeNode, type TestRootKey } from "../ledger/ic/certificates.ts";
import type { IcHost } from "./host.ts";

export type Fault =
  /** The request never reaches the canister: the connection fails. */
  | "unreachable"
  /** The boundary node answers 503 without passing the request on. */
  | "unavailable"
  /** The canister executes the call, but the reply is lost (a timeout after acceptance). */
  | "lose-reply";

export interface GatewayOptions {
  host: IcHost;
  key: TestRootKey;
  /** Set the host's clock to the wall clock before each message (default true). */
  wallClock?: boolean;
}

interface Envelope {
  content: {
    request_type: string;
    canister_id: Uint8Array;
    method_name: string;
    arg: Uint8Array;
    sender: Uint8Array;
    ingress_expiry: bigint;
    nonce?: Uint8Array;
  };
  sender_pubkey?: Uint8Array;
  sender_sig?: Uint8Array;
}

const text = (s: string) => new TextEncoder().encode(s);

export class Gateway {
  readonly host: IcHost;
  private readonly key: TestRootKey;
  private readonly wallClock: boolean;
  /** Faults to apply to the next requests, in order (one per request). */
  readonly faults: Fault[] = [];
  /** While true, every request fails as if the network were down. */
  down = false;
  /** Each call and query, in order, as "call:<method>" or "query:<method>". */
  readonly log: string[] = [];
  /** Rewrites a query's reply before it is sent: a lying canister or boundary node. */
  tamper: ((method: string, reply: Uint8Array) => Uint8Array) | undefined;
  /** Requests seen, by kind, for assertions. */
  readonly seen = { call: 0, query: 0, status: 0, executed: 0 };

  constructor(o: GatewayOptions) {
    this.host = o.host;
    this.key = o.key;
    this.wallClock = o.wallClock ?? true;
  }

  /** A `fetch` for HttpAgent (host URL: any, e.g. http://gateway.test). */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const fault = this.down ? "unreachable" : this.faults.shift();
    if (fault === "unreachable") throw new TypeError("fetch failed: connect ECONNREFUSED (injected)");
    if (fault === "unavailable") return new Response("service unavailable (injected)", { status: 503, statusText: "Service Unavailable" });
    if (url.pathname === "/api/v2/status") {
      this.seen.status++;
      return cbor({ ic_api_version: "0.18.0", root_key: this.key.der, replica_health_status: "healthy" });
    }
    const m = /^\/api\/(v2|v3)\/canister\/([^/]+)\/(call|query|read_state)$/.exec(url.pathname);
    if (m === null || init?.body === undefined || init.body === null) return new Response(`no route for ${url.pathname}`, { status: 404, statusText: "Not Found" });
    const [, version, , endpoint] = m;
    const envelope = Cbor.decode<Envelope>(new Uint8Array(init.body as ArrayBuffer | Uint8Array));
    const { content } = envelope;
    const canister = Principal.fromUint8Array(content.canister_id);
    if (canister.toText() !== this.host.canisterId.toText()) return new Response(`canister ${canister.toText()} not found`, { status: 400, statusText: "Bad Request" });
    const sender = Principal.fromUint8Array(content.sender);
    if (envelope.sender_pubkey !== undefined && Principal.selfAuthenticating(envelope.sender_pubkey).toText() !== sender.toText()) {
      return new Response("sender does not match its public key", { status: 400, statusText: "Bad Request" });
    }
    if (this.wallClock) this.host.time = BigInt(Date.now()) * 1_000_000n;
    if (endpoint === "call" || endpoint === "query") this.log.push(`${endpoint}:${content.method_name}`);
    if (endpoint === "call" && version === "v3") {
      this.seen.call++;
      this.seen.executed++;
      const result = this.host.update(content.method_name, content.arg, sender);
      if (fault === "lose-reply") throw new DOMException("The operation timed out (injected after execution)", "TimeoutError");
      const path = requestIdOf(content);
      const status: HashTree =
        result.reject === undefined
          ? fork(labeled("reply", leaf(result.reply ?? new Uint8Array())), labeled("status", leaf(text("replied"))))
          : fork(
              fork(labeled("error_code", leaf(text("IC0503"))), labeled("reject_code", leaf(leb128(5n)))),
              fork(labeled("reject_message", leaf(text(result.reject))), labeled("status", leaf(text("rejected")))),
            );
      const tree = fork(labeled("request_status", labeled(path, status)), timeNode(this.host.time));
      return cbor({ status: "replied", certificate: await signTree(tree, this.key) });
    }
    if (endpoint === "query") {
      this.seen.query++;
      this.host.certificate = await signTree(fork(certifiedDataNode(this.host.canisterId.toText(), this.host.certifiedData), timeNode(this.host.time)), this.key);
      const result = this.host.query(content.method_name, content.arg, sender);
      if (result.reject !== undefined) return cbor({ status: "rejected", reject_code: 5, reject_message: result.reject, error_code: "IC0503" });
      const reply = result.reply ?? new Uint8Array();
      return cbor({ status: "replied", reply: { arg: this.tamper === undefined ? reply : this.tamper(content.method_name, reply) } });
    }
    return new Response(`${version} ${endpoint} is not emulated`, { status: 404, statusText: "Not Found" });
  };
}

function cbor(value: unknown): Response {
  const body = Cbor.encode(value);
  return new Response(body, { status: 200, statusText: "OK", headers: { "content-type": "application/cbor" } });
}
