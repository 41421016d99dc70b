// The IC's HTTP interface over an IcHost, as a `fetch` function: @dfinity/agent's HttpAgent
// (and so the `ic` ledger backend, unchanged, with the agent's default settings) talks to the
// compiled canister through it.
//
//   GET  /api/v2/status                          root key (for fetchRootKey)
//   POST /api/v3/canister/<id>/call              runs the update; replies with a certificate over
//                                                request_status/<request id>/… (404 when `v3` is
//                                                off, as on a replica without it: agents fall
//                                                back to v2)
//   POST /api/v2/canister/<id>/call              runs the update, then answers 202 Accepted; the
//                                                outcome is read with read_state
//   POST /api/v2/canister/<id>/read_state        a certificate over the requested paths of the
//   POST /api/v2/subnet/<id>/read_state          state tree: time, subnet/<id>/{public_key,
//                                                canister_ranges, node/<node id>/public_key},
//                                                request_status/<request id>/…,
//                                                canister/<id>/controllers
//   POST /api/v2/canister/<id>/query             runs the query; the reply carries an ed25519
//                                                signature of the node that answered, over the
//                                                response's hash; the canister's data certificate
//                                                is a witness of the same state tree
//
// By default the subnet is the root subnet of a test IC: its id is the self-authenticating
// principal of the BLS root key (no delegation, as on a local replica or PocketIC's NNS subnet).
// With `delegated`, it is an application subnet, as every canister on mainnet lives on: it has
// its own BLS key (its id is that key's self-authenticating principal), and every certificate it
// gives — call replies, read_state answers, the data certificate a query sees — is signed with
// that key and carries the root subnet's delegation { subnet_id, certificate }: a certificate,
// signed by the root key with no delegation of its own, over the root subnet's state tree
// revealing time and subnet/<subnet id>/{canister_ranges, public_key} (where the tree also
// holds the root subnet's own entry). @dfinity/agent 3.4.3 reads the ranges there, as
// self-described CBOR [[first, last], …] of canister ids (it does not read the newer
// canister_ranges/<subnet id>/… tree, which this does not serve). As on mainnet, the delegation
// in the answers of the subnet's own read_state endpoint reveals no ranges. A delegation is
// issued at the gateway's time and renewed every ten minutes, as a replica refreshes it from
// the NNS. Either way the subnet has `nodes`
// nodes with ed25519 keys, and every certificate is a pruned witness of one state tree, with
// its labels in order.
//
// Requests are checked as a replica checks them: the envelope's request type, effective id,
// ingress expiry (between now and now + 5 min + 60 s of drift), sender against sender_pubkey,
// sender_sig over "\x0Aic-request" ‖ request id (ed25519, ECDSA P-256 or secp256k1 keys, and
// delegation chains of those), anonymous requests unsigned; read_state of a request's status
// only by its sender. A resubmitted request id is not executed again.
//
// Time: the gateway's clock (the wall clock + `clockSkewMs`) stamps node signatures, read_state
// and call certificates and checks expiry. With `wallClock` (default) the host's time follows
// it before each message; a test that freezes host.time gets stale data certificates from an
// otherwise current replica. Faults can be injected to test retries and verification.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign as signBytes,
  verify as verifyBytes,
  type KeyObject,
} from "node:crypto";
import { bls12_381 } from "@noble/curves/bls12-381";
import { Cbor, NodeType, type HashTree, type NodeHash } from "@dfinity/agent";
import { Principal } from "@dfinity/principal";
import {
  fork,
  labeled,
  leaf,
  leb128,
  rootKey,
  signTree,
  type TestRootKey,
} from "../ledger/ic/certificates.ts";
import type { CallResult, IcHost } from "./host.ts";

export type Fault =
  /** The request never reaches the canister: the connection fails. */
  | "unreachable"
  /** The boundary node answers 503 without passing the request on. */
  | "unavailable"
  /** The canister executes the call, but the reply is lost (a timeout after acceptance; waits for a call). */
  | "lose-reply"
  /** The next query's node signature is corrupted (waits for a query). */
  | "bad-query-signature"
  /** The next query's reply is altered after the node signed it, as by a boundary node (waits for a query). */
  | "alter-signed-reply";

const QUERY_FAULTS: readonly Fault[] = ["bad-query-signature", "alter-signed-reply"];

export interface GatewayOptions {
  host: IcHost;
  key: TestRootKey;
  /** Set the host's clock to the gateway's before each message (default true). */
  wallClock?: boolean;
  /** Nodes in the subnet, each with its own ed25519 key; queries are answered in turn (default 4). */
  nodes?: number;
  /** Serve /api/v3/…/call (default true); when false it is a 404, and agents use v2 + polling. */
  v3?: boolean;
  /** How long a read_state certificate over the same non-request paths is served again (ms, default 2000). */
  readStateCacheMs?: number;
  /**
   * An application subnet with its own key, its certificates delegated by the root key
   * (default false: the root subnet). `true`, or what to put in the delegation.
   */
  delegated?: boolean | DelegationOptions;
}

/** A canister id range, first and last included. */
export type CanisterRange = readonly [Principal, Principal];

export interface DelegationOptions {
  /**
   * The canister ranges the root key certifies for the subnet, which its own state tree shows
   * too (default: the block of 2^20 canister ids holding the canister, as mainnet allots them).
   */
  ranges?: readonly CanisterRange[];
  /** The key that signs the delegation (default: the root key; another one forges it). */
  delegationSigner?: TestRootKey;
  /** The key that signs the subnet's certificates (default: the subnet key the delegation certifies; another one forges them). */
  certificateSigner?: TestRootKey;
}

/** The delegation in an application subnet's certificates, as the interface specification names its fields. */
export interface CertificateDelegation {
  subnet_id: Uint8Array;
  /** The root subnet's certificate (CBOR), with no delegation of its own. */
  certificate: Uint8Array;
}

interface Delegation {
  subnetKey: TestRootKey;
  ranges: readonly CanisterRange[];
  delegationSigner: TestRootKey;
  certificateSigner: TestRootKey;
  issued: Partial<Record<"canister" | "subnet", { time: bigint; value: CertificateDelegation }>>;
}

interface Content {
  request_type: string;
  sender: Uint8Array;
  ingress_expiry: bigint | number;
  nonce?: Uint8Array;
  canister_id?: Uint8Array;
  method_name?: string;
  arg?: Uint8Array;
  paths?: Uint8Array[][];
}

interface SignedDelegation {
  delegation: { pubkey: Uint8Array; expiration: bigint | number; targets?: Uint8Array[] };
  signature: Uint8Array;
}

interface Envelope {
  content: Content;
  sender_pubkey?: Uint8Array;
  sender_sig?: Uint8Array;
  sender_delegation?: SignedDelegation[];
}

interface SubnetNode {
  id: Principal;
  der: Uint8Array;
  secret: KeyObject;
}

interface RequestRecord {
  id: Uint8Array;
  sender: string;
  canister: string;
  expiry: bigint;
  result: CallResult;
}

/** A refusal of the request, with the HTTP status and reason a replica would give. */
class Refused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const MAX_INGRESS_TTL_NS = 5n * 60n * 1_000_000_000n;
/** How long a delegation is used before the gateway asks the root subnet for a new one. */
const DELEGATION_RENEWAL_NS = 10n * 60n * 1_000_000_000n;
/** The root subnet's canister range on mainnet (the NNS canisters), for its entry in the delegation's tree. */
const ROOT_SUBNET_RANGES: readonly CanisterRange[] = [[canisterIdOf(0n), canisterIdOf(0xfffffn)]];
const PERMITTED_DRIFT_NS = 60n * 1_000_000_000n;
const ANONYMOUS = Principal.anonymous().toText();
const DOMAIN_REQUEST = text("\x0Aic-request");
const DOMAIN_RESPONSE = text("\x0Bic-response");
const DOMAIN_DELEGATION = text("\x1Aic-request-auth-delegation");

/** The canister id with index `n`: u64be(n) ‖ 0x01 0x01. */
function canisterIdOf(n: bigint): Principal {
  const bytes = new Uint8Array(10);
  new DataView(bytes.buffer).setBigUint64(0, n);
  bytes.set([1, 1], 8);
  return Principal.fromUint8Array(bytes);
}

/** The block of 2^20 canister ids holding `canister`, or the canister alone if its id is not an index. */
function blockOf(canister: Principal): CanisterRange {
  const bytes = canister.toUint8Array();
  if (bytes.length !== 10 || bytes[8] !== 1 || bytes[9] !== 1) return [canister, canister];
  const first = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0) & ~0xfffffn;
  return [canisterIdOf(first), canisterIdOf(first | 0xfffffn)];
}

/** A subnet's canister_ranges leaf: CBOR [[first, last], …], the ids as blobs. */
function encodeRanges(ranges: readonly CanisterRange[]): Uint8Array {
  return Cbor.encode(ranges.map(([first, last]) => [first.toUint8Array(), last.toUint8Array()]));
}

/** A certificate over `tree` signed by `key` in the IC's scheme, with `delegation` when there is one. */
function signCertificate(tree: HashTree, key: TestRootKey, delegation?: CertificateDelegation): Uint8Array {
  const signature = bls12_381.signShortSignature(concat(domain("ic-state-root"), treeHash(tree)), key.secret);
  return Cbor.encode(delegation === undefined ? { tree, signature } : { tree, signature, delegation });
}

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** The representation-independent hash of the IC interface specification (request ids, response hashes). */
export function hashOfMap(map: Record<string, unknown>): Uint8Array {
  const pairs = Object.entries(map)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => Buffer.concat([sha256(text(k)), hashValue(v)]));
  pairs.sort(Buffer.compare);
  return sha256(...pairs);
}

function hashValue(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return sha256(v);
  if (typeof v === "string") return sha256(text(v));
  if (typeof v === "bigint" || typeof v === "number") return sha256(leb128(BigInt(v)));
  if (Array.isArray(v)) return sha256(...v.map(hashValue));
  if (v !== null && typeof v === "object") return hashOfMap(v as Record<string, unknown>);
  throw new Refused(400, `cannot hash a value of type ${typeof v}`);
}

// ---- The state tree and its witnesses ----

/** A node of the state tree: a leaf's value, or labelled children. */
type State = Uint8Array | Map<string, [Uint8Array, State]>;

function branch(children: [string | Uint8Array, State][]): State {
  return new Map(
    children.map(([l, s]) => {
      const label = typeof l === "string" ? text(l) : l;
      return [hex(label), [label, s]];
    }),
  );
}

function sortedChildren(s: Map<string, [Uint8Array, State]>): [Uint8Array, State][] {
  return [...s.values()].sort(([a], [b]) => Buffer.compare(a, b));
}

function domain(s: string): Uint8Array {
  return concat(Uint8Array.of(s.length), text(s));
}

/** The root hash of a hash tree (the IC's reconstruct), computed here independently of the agent. */
export function treeHash(t: HashTree): Uint8Array {
  switch (t[0]) {
    case NodeType.Empty:
      return sha256(domain("ic-hashtree-empty"));
    case NodeType.Fork:
      return sha256(domain("ic-hashtree-fork"), treeHash(t[1]), treeHash(t[2]));
    case NodeType.Labeled:
      return sha256(domain("ic-hashtree-labeled"), t[1], treeHash(t[2]));
    case NodeType.Leaf:
      return sha256(domain("ic-hashtree-leaf"), t[1]);
    case NodeType.Pruned:
      return t[1];
  }
}

const pruned = (hash: Uint8Array): HashTree => [NodeType.Pruned, hash as NodeHash];

/**
 * The witness of `s` for `paths`: what lies at (and below) each path is revealed; for a label
 * that is absent, its neighbours' labels are, so that the absence is proven; everything else is
 * pruned. Children are in label order, in a balanced tree of forks.
 */
function witness(s: State, paths: Uint8Array[][]): HashTree {
  if (s instanceof Uint8Array || paths.some((p) => p.length === 0)) return full(s);
  const children = sortedChildren(s);
  const wanted = new Map<number, Uint8Array[][]>();
  const want = (i: number, rest?: Uint8Array[]) => {
    const list = wanted.get(i) ?? [];
    if (rest !== undefined) list.push(rest);
    wanted.set(i, list);
  };
  for (const [first, ...rest] of paths) {
    if (first === undefined) continue;
    const at = children.findIndex(([l]) => Buffer.compare(l, first) >= 0);
    const next = at === -1 ? children.length : at;
    const found = children[next];
    if (found !== undefined && Buffer.compare(found[0], first) === 0) want(next, rest);
    else {
      if (next > 0) want(next - 1);
      if (next < children.length) want(next);
    }
  }
  const build = (lo: number, hi: number): HashTree => {
    if (hi === lo) return [NodeType.Empty];
    if (![...wanted.keys()].some((i) => i >= lo && i < hi)) return pruned(treeHash(span(children, lo, hi)));
    if (hi - lo === 1) {
      const [label, child] = children[lo] as [Uint8Array, State];
      const sub = wanted.get(lo) ?? [];
      return labeled(label, sub.length === 0 ? pruned(treeHash(full(child))) : witness(child, sub));
    }
    const mid = lo + Math.ceil((hi - lo) / 2);
    return fork(build(lo, mid), build(mid, hi));
  };
  return build(0, children.length);
}

function span(children: [Uint8Array, State][], lo: number, hi: number): HashTree {
  if (hi === lo) return [NodeType.Empty];
  if (hi - lo === 1) {
    const [label, child] = children[lo] as [Uint8Array, State];
    return labeled(label, full(child));
  }
  const mid = lo + Math.ceil((hi - lo) / 2);
  return fork(span(children, lo, mid), span(children, mid, hi));
}

function full(s: State): HashTree {
  if (s instanceof Uint8Array) return leaf(s);
  const children = sortedChildren(s);
  return span(children, 0, children.length);
}

// ---- Sender authentication ----

/** Verifies `signature` over `message` by the DER-encoded public key; the reason it fails, or undefined. */
function badSignature(der: Uint8Array, message: Uint8Array, signature: Uint8Array): string | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
  } catch {
    return "the public key is not a supported DER key (ed25519, ECDSA P-256 or secp256k1)";
  }
  try {
    if (key.asymmetricKeyType === "ed25519")
      return verifyBytes(null, message, key, signature) ? undefined : "ed25519 signature does not verify";
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (key.asymmetricKeyType === "ec" && (curve === "prime256v1" || curve === "secp256k1")) {
      return verifyBytes("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature)
        ? undefined
        : `ECDSA (${curve}) signature does not verify`;
    }
  } catch (e: unknown) {
    return `signature does not verify (${e instanceof Error ? e.message : String(e)})`;
  }
  return `unsupported key type ${key.asymmetricKeyType ?? "?"}`;
}

export class Gateway {
  readonly host: IcHost;
  private readonly key: TestRootKey;
  private wallClock: boolean;
  /** Faults to apply to the next requests, in order (one per request; query faults wait for a query). */
  readonly faults: Fault[] = [];
  /** While true, every request fails as if the network were down. */
  down = false;
  /** Serve /api/v3/…/call; when false it answers 404, as a replica without v3 does. */
  v3: boolean;
  /** The replica's clock relative to this machine's, in ms (agents' expiry is checked against it). */
  clockSkewMs = 0;
  /** Each call and query, in order, as "call:<method>" or "query:<method>". */
  readonly log: string[] = [];
  /** Each refused request, as "<HTTP status> <reason>". */
  readonly refusals: string[] = [];
  /** Rewrites a query's reply before the node signs it: a lying canister. */
  tamper: ((method: string, reply: Uint8Array) => Uint8Array) | undefined;
  /** Requests seen, by kind, for assertions. */
  readonly seen = { call: 0, query: 0, status: 0, executed: 0, readState: 0, v2call: 0 };
  /**
   * The subnet's id: the self-authenticating principal of the root key (the root subnet), or
   * of the subnet's own key when `delegated`.
   */
  readonly subnetId: Principal;
  /** The subnet's own BLS key when `delegated` (the key its certificates are signed with). */
  readonly subnetKey: TestRootKey | undefined;
  readonly nodes: readonly SubnetNode[];
  private nextNode = 0;
  private readonly requests = new Map<string, RequestRecord>();
  private readonly readStateCacheMs: number;
  private readonly readStateCache = new Map<string, { time: bigint; certificate: Uint8Array }>();
  private readonly delegated: Delegation | undefined;

  constructor(o: GatewayOptions) {
    this.host = o.host;
    this.key = o.key;
    this.wallClock = o.wallClock ?? true;
    this.v3 = o.v3 ?? true;
    this.readStateCacheMs = o.readStateCacheMs ?? 2000;
    if (o.delegated === undefined || o.delegated === false) {
      this.subnetKey = undefined;
      this.delegated = undefined;
    } else {
      const d = o.delegated === true ? {} : o.delegated;
      const subnetKey = rootKey();
      this.subnetKey = subnetKey;
      this.delegated = {
        subnetKey,
        ranges: d.ranges ?? [blockOf(o.host.canisterId)],
        delegationSigner: d.delegationSigner ?? o.key,
        certificateSigner: d.certificateSigner ?? subnetKey,
        issued: {},
      };
    }
    this.subnetId = Principal.selfAuthenticating((this.subnetKey ?? o.key).der);
    this.nodes = Array.from({ length: o.nodes ?? 4 }, () => {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const der = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
      return { id: Principal.selfAuthenticating(der), der, secret: privateKey };
    });
  }

  /** The gateway's clock, in nanoseconds since the epoch. */
  now(): bigint {
    return BigInt(Date.now() + this.clockSkewMs) * 1_000_000n;
  }

  /** The state tree at `time`. */
  private state(time: bigint): State {
    const canister = this.host.canisterId.toUint8Array();
    return branch([
      [
        "canister",
        branch([
          [
            canister,
            branch([
              ["certified_data", this.host.certifiedData],
              ["controllers", Cbor.encode(this.host.controllers.map((p) => p.toUint8Array()))],
            ]),
          ],
        ]),
      ],
      ["request_status", branch([...this.requests.values()].map((r) => [r.id, requestStatus(r.result)]))],
      [
        "subnet",
        branch([
          [
            this.subnetId.toUint8Array(),
            branch([
              [
                "canister_ranges",
                this.delegated === undefined
                  ? Cbor.encode([[canister, canister]])
                  : encodeRanges(this.delegated.ranges),
              ],
              ["node", branch(this.nodes.map((n) => [n.id.toUint8Array(), branch([["public_key", n.der]])]))],
              ["public_key", (this.subnetKey ?? this.key).der],
            ]),
          ],
        ]),
      ],
      ["time", leb128(time)],
    ]);
  }

  /** The witness of the state tree at `time` (default: now) for `paths`, as certificates carry it. */
  witness(paths: (string | Uint8Array)[][], time: bigint = this.now()): HashTree {
    return witness(
      this.state(time),
      paths.map((p) => p.map((l) => (typeof l === "string" ? text(l) : l))),
    );
  }

  /**
   * A certificate over `paths` of the state at `time`; as a replica's, it always shows the time.
   * An application subnet's is signed with its key and carries the root subnet's delegation
   * (for the subnet's own read_state endpoint, one without the canister ranges).
   */
  private async certify(
    paths: Uint8Array[][],
    time: bigint,
    scope: "canister" | "subnet" = "canister",
  ): Promise<Uint8Array> {
    const tree = witness(this.state(time), [...paths, [text("time")]]);
    if (this.delegated === undefined) return signTree(tree, this.key);
    return signCertificate(tree, this.delegated.certificateSigner, this.delegation(scope));
  }

  /** The canister's data certificate at `time` (default: the host's), as the host hands it to a query. */
  dataCertificate(time: bigint = this.host.time): Promise<Uint8Array> {
    return this.certify(
      [[text("canister"), this.host.canisterId.toUint8Array(), text("certified_data")]],
      time,
    );
  }

  /**
   * The root subnet's delegation to this subnet (undefined for the root subnet itself): issued
   * at the gateway's time, renewed after ten minutes (or if the clock went back past it). It
   * certifies the subnet's key and, for certificates of canister-scoped requests, its canister
   * ranges.
   */
  delegation(scope: "canister" | "subnet" = "canister"): CertificateDelegation | undefined {
    const d = this.delegated;
    if (d === undefined) return undefined;
    const now = this.now();
    const issued = d.issued[scope];
    if (issued === undefined || now < issued.time || now - issued.time >= DELEGATION_RENEWAL_NS) {
      const subnet = this.subnetId.toUint8Array();
      const rootSubnet = Principal.selfAuthenticating(this.key.der).toUint8Array();
      const rootState = branch([
        [
          "subnet",
          branch([
            [
              rootSubnet,
              branch([
                ["canister_ranges", encodeRanges(ROOT_SUBNET_RANGES)],
                ["public_key", this.key.der],
              ]),
            ],
            [
              subnet,
              branch([
                ["canister_ranges", encodeRanges(d.ranges)],
                ["public_key", d.subnetKey.der],
              ]),
            ],
          ]),
        ],
        ["time", leb128(now)],
      ]);
      const tree = witness(rootState, [
        ...(scope === "canister" ? [[text("subnet"), subnet, text("canister_ranges")]] : []),
        [text("subnet"), subnet, text("public_key")],
        [text("time")],
      ]);
      const value = { subnet_id: subnet, certificate: signCertificate(tree, d.delegationSigner) };
      d.issued[scope] = { time: now, value };
      return value;
    }
    return issued.value;
  }

  /** A `fetch` for HttpAgent (host URL: any, e.g. http://gateway.test). */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const route = /^\/api\/(v2|v3)\/(canister|subnet)\/([^/]+)\/(call|query|read_state)$/.exec(url.pathname);
    // The next fault, unless it waits for another kind of request: a served call or a query.
    const served =
      route !== null && route[2] === "canister" && (route[1] === "v2" || (this.v3 && route[4] === "call"));
    const next = this.down ? "unreachable" : this.faults[0];
    const waits =
      (next === "lose-reply" && !(served && route?.[4] === "call")) ||
      (next !== undefined && QUERY_FAULTS.includes(next) && route?.[4] !== "query");
    const fault = waits ? undefined : next;
    if (!this.down && fault !== undefined) this.faults.shift();
    if (fault === "unreachable") throw new TypeError("fetch failed: connect ECONNREFUSED (injected)");
    if (fault === "unavailable") return respond(url, "service unavailable (injected)", 503);
    if (url.pathname === "/api/v2/status") {
      this.seen.status++;
      return respond(
        url,
        Cbor.encode({ ic_api_version: "0.18.0", root_key: this.key.der, replica_health_status: "healthy" }),
      );
    }
    if (route === null || init?.body === undefined || init.body === null)
      return respond(url, `no route for ${url.pathname}`, 404);
    const [, version, scope, id, endpoint] = route as unknown as [
      string,
      "v2" | "v3",
      "canister" | "subnet",
      string,
      "call" | "query" | "read_state",
    ];
    if (version === "v3" && (!this.v3 || endpoint !== "call" || scope !== "canister"))
      return respond(url, `${url.pathname} is not served`, 404);
    if (scope === "subnet" && endpoint !== "read_state")
      return respond(url, `no route for ${url.pathname}`, 404);
    try {
      let envelope: Envelope;
      try {
        envelope = Cbor.decode<Envelope>(new Uint8Array(init.body as ArrayBuffer | Uint8Array));
      } catch (e: unknown) {
        throw new Refused(
          400,
          `Could not parse body as ${endpoint} message: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      const now = this.now();
      if (this.wallClock) this.host.time = now;
      for (const [key, r] of this.requests) if (r.expiry < now) this.requests.delete(key);
      const requestId = this.check(envelope, endpoint, scope, id, now);
      if (endpoint === "read_state") return await this.readState(url, envelope.content, scope, now);
      this.log.push(`${endpoint}:${envelope.content.method_name ?? ""}`);
      if (endpoint === "query") return await this.query(url, envelope.content, requestId, now, fault);
      return await this.call(url, envelope.content, version, requestId, now, fault);
    } catch (e: unknown) {
      if (!(e instanceof Refused)) throw e;
      this.refusals.push(`${e.status} ${e.message}`);
      return respond(url, e.message, e.status);
    }
  };

  /** The checks a replica makes on every request; returns its request id. */
  private check(
    envelope: Envelope,
    endpoint: "call" | "query" | "read_state",
    scope: "canister" | "subnet",
    id: string,
    now: bigint,
  ): Uint8Array {
    if (envelope === null || typeof envelope !== "object")
      throw new Refused(400, "the body is not a request envelope");
    const { content } = envelope;
    if (content === undefined || content === null || typeof content !== "object")
      throw new Refused(400, "the envelope has no content");
    if (content.request_type !== endpoint)
      throw new Refused(400, `request_type ${String(content.request_type)} sent to the ${endpoint} endpoint`);
    if (!(content.sender instanceof Uint8Array)) throw new Refused(400, "the request has no sender");
    const requestId = hashOfMap(content as unknown as Record<string, unknown>);
    const rid = `0x${hex(requestId)}`;
    // The effective id of the URL, and the canister the request is for.
    if (scope === "subnet") {
      if (id !== this.subnetId.toText()) throw new Refused(404, `subnet ${id} not found`);
    } else {
      let effective: string;
      try {
        effective = Principal.fromText(id).toText();
      } catch {
        throw new Refused(400, `${id} is not a principal`);
      }
      if (effective !== this.host.canisterId.toText())
        throw new Refused(400, `canister ${effective} not found`);
      if (endpoint !== "read_state") {
        const canister =
          content.canister_id instanceof Uint8Array
            ? Principal.fromUint8Array(content.canister_id).toText()
            : "(none)";
        if (canister !== effective)
          throw new Refused(
            400,
            `Specified CanisterId ${canister} does not match effective canister id in URL ${effective}`,
          );
      }
    }
    // Ingress expiry: not past, not more than the maximum TTL (and some drift) ahead.
    const expiry = BigInt(content.ingress_expiry);
    const max = now + MAX_INGRESS_TTL_NS + PERMITTED_DRIFT_NS;
    if (expiry < now || expiry > max) {
      throw new Refused(
        400,
        `Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: ${iso(now)}, Maximum allowed expiry: ${iso(max)}, Provided expiry: ${iso(expiry)}`,
      );
    }
    // The sender: anonymous and unsigned, or its key's principal, with a signature by it (or by
    // the last key of its delegation chain) over the request id.
    const sender = Principal.fromUint8Array(content.sender).toText();
    const fail = (reason: string) =>
      new Refused(400, `Failed to authenticate request ${rid} due to: ${reason}`);
    if (sender === ANONYMOUS) {
      if (
        envelope.sender_pubkey !== undefined ||
        envelope.sender_sig !== undefined ||
        envelope.sender_delegation !== undefined
      ) {
        throw fail("an anonymous request carries a public key or signature");
      }
      return requestId;
    }
    const pubkey = envelope.sender_pubkey;
    const sig = envelope.sender_sig;
    if (!(pubkey instanceof Uint8Array) || !(sig instanceof Uint8Array))
      throw fail(`missing signature for sender ${sender}`);
    if (Principal.selfAuthenticating(pubkey).toText() !== sender)
      throw fail(`sender ${sender} does not match its public key`);
    let signer = pubkey;
    for (const [i, d] of (envelope.sender_delegation ?? []).entries()) {
      const bad = badSignature(
        signer,
        concat(DOMAIN_DELEGATION, hashOfMap(d.delegation as unknown as Record<string, unknown>)),
        d.signature,
      );
      if (bad !== undefined) throw fail(`invalid delegation ${i}: ${bad}`);
      if (BigInt(d.delegation.expiration) < now)
        throw fail(`delegation ${i} expired at ${iso(BigInt(d.delegation.expiration))}`);
      const targets = d.delegation.targets;
      const canister = content.canister_id;
      if (
        targets !== undefined &&
        endpoint !== "read_state" &&
        !targets.some((t) => canister instanceof Uint8Array && Buffer.compare(t, canister) === 0)
      ) {
        throw fail(
          `delegation ${i} does not allow canister ${canister instanceof Uint8Array ? Principal.fromUint8Array(canister).toText() : "(none)"}`,
        );
      }
      signer = d.delegation.pubkey;
    }
    const bad = badSignature(signer, concat(DOMAIN_REQUEST, requestId), sig);
    if (bad !== undefined) throw fail(`invalid signature: ${bad}`);
    return requestId;
  }

  private async query(
    url: URL,
    content: Content,
    requestId: Uint8Array,
    now: bigint,
    fault: Fault | undefined,
  ): Promise<Response> {
    this.seen.query++;
    this.host.certificate = await this.dataCertificate(this.host.time);
    const sender = Principal.fromUint8Array(content.sender);
    const result = this.host.query(content.method_name ?? "", content.arg ?? new Uint8Array(), sender);
    const body: Record<string, unknown> =
      result.reject === undefined
        ? {
            status: "replied",
            reply: {
              arg:
                this.tamper === undefined
                  ? (result.reply ?? new Uint8Array())
                  : this.tamper(content.method_name ?? "", result.reply ?? new Uint8Array()),
            },
          }
        : { status: "rejected", reject_code: 5, reject_message: result.reject, error_code: "IC0503" };
    const node = this.nodes[this.nextNode++ % this.nodes.length] as SubnetNode;
    const signature = new Uint8Array(
      signBytes(
        null,
        concat(DOMAIN_RESPONSE, hashOfMap({ ...body, timestamp: now, request_id: requestId })),
        node.secret,
      ),
    );
    if (fault === "bad-query-signature") signature[0] = (signature[0] ?? 0) ^ 0x01;
    if (fault === "alter-signed-reply" && body["status"] === "replied") {
      const arg = (body["reply"] as { arg: Uint8Array }).arg;
      body["reply"] = {
        arg: concat(arg.subarray(0, Math.max(0, arg.length - 1)), Uint8Array.of((arg.at(-1) ?? 0) ^ 0x01)),
      };
    }
    return respond(
      url,
      Cbor.encode({ ...body, signatures: [{ timestamp: now, signature, identity: node.id.toUint8Array() }] }),
    );
  }

  private async call(
    url: URL,
    content: Content,
    version: "v2" | "v3",
    requestId: Uint8Array,
    now: bigint,
    fault: Fault | undefined,
  ): Promise<Response> {
    this.seen.call++;
    if (version === "v2") this.seen.v2call++;
    const key = hex(requestId);
    // A request id already received is not executed again (the replica's replay protection).
    if (!this.requests.has(key)) {
      this.seen.executed++;
      const sender = Principal.fromUint8Array(content.sender);
      const result = this.host.update(content.method_name ?? "", content.arg ?? new Uint8Array(), sender);
      this.requests.set(key, {
        id: requestId,
        sender: sender.toText(),
        canister: this.host.canisterId.toText(),
        expiry: BigInt(content.ingress_expiry),
        result,
      });
    }
    if (fault === "lose-reply")
      throw new DOMException("The operation timed out (injected after execution)", "TimeoutError");
    if (version === "v2") return respond(url, new Uint8Array(), 202);
    const certificate = await this.certify([[text("request_status"), requestId]], now);
    return respond(url, Cbor.encode({ status: "replied", certificate }));
  }

  private async readState(
    url: URL,
    content: Content,
    scope: "canister" | "subnet",
    now: bigint,
  ): Promise<Response> {
    this.seen.readState++;
    const paths = content.paths;
    if (
      !Array.isArray(paths) ||
      paths.some((p) => !Array.isArray(p) || p.some((l) => !(l instanceof Uint8Array)))
    )
      throw new Refused(400, "paths must be a sequence of sequences of blobs");
    if (paths.length > 1000 || paths.some((p) => p.length > 127))
      throw new Refused(400, "too many paths, or a path too long");
    const sender = Principal.fromUint8Array(content.sender).toText();
    let requestIdRead: string | undefined;
    for (const path of paths) {
      const [first, second, third] = path.map((l) => Buffer.from(l));
      const name = first?.toString() ?? "";
      if (name === "time" || name === "subnet") continue;
      if (scope === "subnet")
        throw new Refused(
          404,
          `Invalid path requested: ${name} (a subnet's read_state serves time and subnet paths)`,
        );
      if (name === "canister") {
        if (
          second === undefined ||
          Principal.fromUint8Array(second).toText() !== this.host.canisterId.toText()
        )
          throw new Refused(400, "canister paths must be for the effective canister id");
        const leafName = third?.toString();
        if (leafName !== "controllers" && leafName !== "module_hash" && leafName !== "metadata")
          throw new Refused(404, `Invalid path requested: canister/…/${leafName ?? ""}`);
        continue;
      }
      if (name === "request_status") {
        if (second === undefined)
          throw new Refused(404, "Invalid path requested: request_status without a request id");
        const rid = second.toString("hex");
        if (requestIdRead !== undefined && requestIdRead !== rid)
          throw new Refused(
            400,
            "More than one non-unique request ID exists in request_status paths of read_state request.",
          );
        requestIdRead = rid;
        const record = this.requests.get(rid);
        if (record !== undefined && record.sender !== sender)
          throw new Refused(
            403,
            `Request IDs must be for requests signed by the caller: request 0x${rid} was not sent by ${sender}`,
          );
        if (record !== undefined && record.canister !== this.host.canisterId.toText())
          throw new Refused(400, `request 0x${rid} is not for the effective canister id`);
        continue;
      }
      throw new Refused(404, `Invalid path requested: ${name}`);
    }
    // A certificate over time, subnet and canister paths is served again for a short while: a
    // replica's certified state lags too. Never one over a request's status.
    const cacheable = requestIdRead === undefined;
    const key = `${scope} ${paths.map((p) => p.map((l) => hex(l)).join("/")).join(" ")}`;
    const cached = cacheable ? this.readStateCache.get(key) : undefined;
    if (
      cached !== undefined &&
      now >= cached.time &&
      now - cached.time < BigInt(this.readStateCacheMs) * 1_000_000n
    ) {
      return respond(url, Cbor.encode({ certificate: cached.certificate }));
    }
    const certificate = await this.certify(paths, now, scope);
    if (cacheable) this.readStateCache.set(key, { time: now, certificate });
    return respond(url, Cbor.encode({ certificate }));
  }
}

function requestStatus(r: CallResult): State {
  if (r.reject === undefined)
    return branch([
      ["reply", r.reply ?? new Uint8Array()],
      ["status", text("replied")],
    ]);
  return branch([
    ["error_code", text("IC0503")],
    ["reject_code", leb128(5n)],
    ["reject_message", text(r.reject)],
    ["status", text("rejected")],
  ]);
}

function iso(ns: bigint): string {
  const ms = ns / 1_000_000n;
  return ms > 8_640_000_000_000_000n || ms < 0n ? `${ns} ns` : new Date(Number(ms)).toISOString();
}

/** A response as fetch gives it, with its URL (agents look at it to tell a missing v3 endpoint). */
function respond(url: URL, body: string | Uint8Array, status = 200): Response {
  const statusText =
    {
      200: "OK",
      202: "Accepted",
      400: "Bad Request",
      403: "Forbidden",
      404: "Not Found",
      503: "Service Unavailable",
    }[status] ?? "";
  const headers =
    typeof body === "string"
      ? { "content-type": "text/plain; charset=utf-8" }
      : { "content-type": "application/cbor" };
  const response = new Response(
    status === 202 && typeof body !== "string" && body.length === 0 ? null : body,
    { status, statusText, headers },
  );
  Object.defineProperty(response, "url", { value: url.href });
  return response;
}
