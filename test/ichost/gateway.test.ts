// The gateway as a replica: query replies signed by subnet nodes whose keys the agent reads with
// read_state, the v2 call + read_state polling path, and the checks on every request (sender
// signature, ingress expiry) — all against @dfinity/agent with its default settings.
import { beforeAll, describe, expect, it } from "vitest";
import { IDL } from "@dfinity/candid";
import { Principal } from "@dfinity/principal";
import {
  Actor,
  AnonymousIdentity,
  CanisterStatus,
  Cbor,
  HttpAgent,
  pollForResponse,
  reconstruct,
  SignIdentity,
  type Identity,
  type PublicKey,
  type Signature,
} from "@dfinity/agent";
import { DelegationChain, DelegationIdentity, ECDSAKeyIdentity, Ed25519KeyIdentity } from "@dfinity/identity";
import { Secp256k1KeyIdentity } from "@dfinity/identity-secp256k1";
import { toHex } from "../../src/ledger/index.ts";
import { entries } from "../ledger/fixtures.ts";
import { treeHash } from "./gateway.ts";
import { CANISTER_ID, GATEWAY_URL, hostedCanister, skipHosted, skipReason, type Hosted } from "./hosted.ts";

if (skipHosted) console.log(`SKIP gateway suite: ${skipReason}`);

/** Presents one key and signs with another: a forged request. */
class WrongSigner extends SignIdentity {
  private readonly shown: SignIdentity;
  private readonly signer: SignIdentity;
  constructor(shown: SignIdentity, signer: SignIdentity) {
    super();
    this.shown = shown;
    this.signer = signer;
  }
  getPublicKey(): PublicKey {
    return this.shown.getPublicKey();
  }
  sign(blob: Uint8Array): Promise<Signature> {
    return this.signer.sign(blob);
  }
}

const canister = Principal.fromText(CANISTER_ID);
const NO_ARGS = new Uint8Array(IDL.encode([], []));
const NOW_NS = () => BigInt(Date.now()) * 1_000_000n;

describe.skipIf(skipHosted)("the gateway, as the agent's defaults see a replica", () => {
  let hosted: Hosted;
  beforeAll(async () => {
    hosted = await hostedCanister();
  }, 180_000);

  const agent = (identity: Identity = hosted.controller) =>
    HttpAgent.create({
      host: GATEWAY_URL,
      identity,
      rootKey: hosted.key.der,
      fetch: hosted.gateway.fetch,
      retryTimes: 0,
    });

  /** A request envelope as an agent sends it, signed by `identity`, posted to the gateway. */
  async function post(
    path: string,
    identity: Identity,
    content: Record<string, unknown>,
    edit?: (body: Record<string, unknown>) => void,
  ): Promise<Response> {
    const sender = identity.getPrincipal().toUint8Array();
    const signed = await identity.transformRequest({
      request: { method: "POST", headers: {} },
      endpoint: "query",
      body: { sender, ingress_expiry: NOW_NS() + 60_000_000_000n, ...content },
    } as never);
    const body = (signed as { body: Record<string, unknown> }).body;
    edit?.(body);
    const url = path.startsWith("/")
      ? `${GATEWAY_URL}${path}`
      : `${GATEWAY_URL}/api/v2/canister/${CANISTER_ID}/${path}`;
    return hosted.gateway.fetch(url, { method: "POST", body: Cbor.encode(body) });
  }
  const tipQuery = {
    request_type: "query",
    canister_id: canister.toUint8Array(),
    method_name: "tip",
    arg: NO_ARGS,
  };

  it("gives the subnet's node keys in a certificate the agent verifies, as a pruned witness of one state tree", async () => {
    const status = await CanisterStatus.request({
      canisterId: canister,
      agent: await agent(),
      paths: ["subnet", "time", "controllers"],
    });
    const subnet = status.get("subnet") as { subnetId: string; nodeKeys: Map<string, Uint8Array> };
    expect(subnet.subnetId).toBe(hosted.gateway.subnetId.toText());
    expect(subnet.subnetId).toBe(Principal.selfAuthenticating(hosted.key.der).toText());
    expect([...subnet.nodeKeys.keys()].sort()).toEqual(hosted.gateway.nodes.map((n) => n.id.toText()).sort());
    for (const n of hosted.gateway.nodes)
      expect(toHex(subnet.nodeKeys.get(n.id.toText()) ?? new Uint8Array())).toBe(toHex(n.der));
    expect((status.get("controllers") as Principal[]).map((p) => p.toText())).toEqual([
      hosted.controller.getPrincipal().toText(),
    ]);
    expect(Math.abs((status.get("time") as Date).getTime() - Date.now())).toBeLessThan(5_000);
    // The subnet's own read_state endpoint serves subnet paths, and only those.
    const subnetReadState = (paths: Uint8Array[][]) =>
      post(`/api/v2/subnet/${subnet.subnetId}/read_state`, hosted.controller, {
        request_type: "read_state",
        paths,
      });
    const bySubnet = await subnetReadState([[new TextEncoder().encode("subnet")]]);
    expect(bySubnet.status).toBe(200);
    expect(
      Cbor.decode<{ certificate: Uint8Array }>(new Uint8Array(await bySubnet.arrayBuffer())).certificate,
    ).toBeInstanceOf(Uint8Array);
    expect(
      (await subnetReadState([[new TextEncoder().encode("request_status"), new Uint8Array(32)]])).status,
    ).toBe(404);
    // Whatever is revealed, the root hash is the whole tree's: pruned hashes are the subtrees'.
    const t = hosted.gateway.now();
    const whole = toHex(treeHash(hosted.gateway.witness([[]], t)));
    const absent = new Uint8Array(32).fill(0xab);
    for (const paths of [
      [["time"]],
      [["subnet"]],
      [["request_status", absent]],
      [["canister", canister.toUint8Array(), "controllers"], ["time"]],
    ]) {
      const w = hosted.gateway.witness(paths, t);
      expect(toHex(treeHash(w))).toBe(whole);
      expect(toHex(await reconstruct(w))).toBe(whole);
    }
  });

  it("signs query replies with a node key; the agent's defaults accept them, and refuse a corrupted signature or a reply altered after signing", async () => {
    const ledger = await hosted.ledger({ attempts: 1 });
    const readStates = hosted.gateway.seen.readState;
    expect(await ledger.size()).toBe(0);
    expect(hosted.gateway.seen.readState).toBe(readStates + 1);
    hosted.gateway.faults.push("bad-query-signature");
    await expect(ledger.size()).rejects.toThrow(/Query signature verification failed. Node ID: /);
    hosted.gateway.faults.push("alter-signed-reply");
    await expect(ledger.size()).rejects.toThrow(/Query signature verification failed/);
    expect(hosted.gateway.faults).toEqual([]);
    expect(await ledger.size()).toBe(0);
    // A reply whose signature is fine, checked over the response hash by an independent verifier.
    const response = Cbor.decode<{
      status: string;
      signatures: { timestamp: bigint; identity: Uint8Array }[];
    }>(new Uint8Array(await (await post("query", hosted.controller, tipQuery)).arrayBuffer()));
    expect(response.status).toBe("replied");
    expect(response.signatures).toHaveLength(1);
    expect(hosted.gateway.nodes.map((n) => n.id.toText())).toContain(
      Principal.fromUint8Array(response.signatures[0]?.identity ?? new Uint8Array()).toText(),
    );
    expect(Number(BigInt(response.signatures[0]?.timestamp ?? 0n) / 1_000_000n)).toBeGreaterThan(
      Date.now() - 5_000,
    );
  });

  it("appends over v2 call + read_state polling when v3 is not served, and certifies a reject the same way", async () => {
    hosted.gateway.v3 = false;
    try {
      const ledger = await hosted.ledger();
      const before = { ...hosted.gateway.seen };
      const receipts = await ledger.append(entries(0, 5));
      expect(receipts.map((r) => [r.index, r.duplicate])).toEqual([
        [0, false],
        [1, false],
        [2, false],
        [3, false],
        [4, false],
      ]);
      expect(hosted.gateway.seen.v2call - before.v2call).toBe(1);
      expect(hosted.gateway.seen.executed - before.executed).toBe(1);
      expect(hosted.gateway.seen.readState - before.readState).toBeGreaterThanOrEqual(1);
      expect(await ledger.size()).toBe(5);
      // A lost 202 is retried by the ledger: the first attempt ran, the retry finds the keys.
      hosted.gateway.faults.push("lose-reply");
      const again = await ledger.append(entries(5, 2));
      expect(again.map((r) => [r.index, r.duplicate])).toEqual([
        [5, true],
        [6, true],
      ]);
      // A call the canister rejects: the certified reject, read by polling.
      const caller = await agent();
      const { requestId, response } = await caller.call(canister, {
        methodName: "no_such_method",
        arg: NO_ARGS,
      });
      expect(response.status).toBe(202);
      await expect(pollForResponse(caller, canister, requestId)).rejects.toThrow(
        /canister has no method canister_update no_such_method/,
      );
      // Only the request's sender may read its status.
      const stranger = await agent(Ed25519KeyIdentity.generate());
      await expect(
        stranger.readState(canister, { paths: [[new TextEncoder().encode("request_status"), requestId]] }),
      ).rejects.toThrow(/403[\s\S]*Request IDs must be for requests signed by the caller/);
    } finally {
      hosted.gateway.v3 = true;
    }
  });

  it("does not run a request id twice: a resubmitted call gets the first outcome", async () => {
    const call = {
      request_type: "call",
      canister_id: canister.toUint8Array(),
      method_name: "append",
      arg: new Uint8Array(
        IDL.encode([IDL.Vec(IDL.Record({ key: IDL.Text, entry: IDL.Vec(IDL.Nat8) }))], [[]]),
      ),
      nonce: new Uint8Array(8).fill(7),
    };
    const executed = hosted.gateway.seen.executed;
    const sender = hosted.controller;
    const ingress_expiry = NOW_NS() + 60_000_000_000n;
    const signed = await sender.transformRequest({
      request: { method: "POST", headers: {} },
      endpoint: "call",
      body: { sender: sender.getPrincipal().toUint8Array(), ingress_expiry, ...call },
    } as never);
    const body = Cbor.encode((signed as { body: unknown }).body);
    const first = await hosted.gateway.fetch(`${GATEWAY_URL}/api/v3/canister/${CANISTER_ID}/call`, {
      method: "POST",
      body,
    });
    const second = await hosted.gateway.fetch(`${GATEWAY_URL}/api/v2/canister/${CANISTER_ID}/call`, {
      method: "POST",
      body,
    });
    expect([first.status, second.status]).toEqual([200, 202]);
    expect(hosted.gateway.seen.executed).toBe(executed + 1);
  });

  it("refuses an expired request, or one expiring too far ahead, as a replica does", async () => {
    const expired = await post("query", hosted.controller, {
      ...tipQuery,
      ingress_expiry: NOW_NS() - 1_000_000_000n,
    });
    expect(expired.status).toBe(400);
    expect(await expired.text()).toMatch(
      /^Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: .*Provided expiry: /,
    );
    const far = await post("query", hosted.controller, {
      ...tipQuery,
      ingress_expiry: NOW_NS() + 7n * 60n * 1_000_000_000n,
    });
    expect(far.status).toBe(400);
    // An agent whose clock is behind the replica's by ten minutes sends expired requests.
    const ledger = await hosted.ledger({ attempts: 1 });
    await ledger.size();
    hosted.gateway.clockSkewMs = 10 * 60_000;
    try {
      await expect(ledger.size()).rejects.toThrow(/400[\s\S]*Invalid request expiry/);
    } finally {
      hosted.gateway.clockSkewMs = 0;
    }
    expect(await ledger.size()).toBeGreaterThanOrEqual(0);
  });

  it("refuses a request whose signature is not its sender's, and says why", async () => {
    const me = Ed25519KeyIdentity.generate();
    const forged = new WrongSigner(me, Ed25519KeyIdentity.generate());
    const bad = await post("query", forged, tipQuery);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(
      /^Failed to authenticate request 0x[0-9a-f]{64} due to: invalid signature: ed25519 signature does not verify/,
    );
    const unsigned = await post("query", me, tipQuery, (body) => {
      delete body["sender_sig"];
    });
    expect(await unsigned.text()).toMatch(/missing signature for sender/);
    const otherKey = await post("query", me, tipQuery, (body) => {
      body["sender_pubkey"] = Ed25519KeyIdentity.generate().getPublicKey().toDer();
    });
    expect(await otherKey.text()).toMatch(/does not match its public key/);
    const signedAnonymous = await post("query", new AnonymousIdentity(), tipQuery, (body) => {
      body["sender_pubkey"] = me.getPublicKey().toDer();
      body["sender_sig"] = new Uint8Array(64);
    });
    expect(await signedAnonymous.text()).toMatch(/an anonymous request carries a public key or signature/);
    // Through the agent: an update from the forger is refused before it reaches the canister.
    const executed = hosted.gateway.seen.executed;
    const ledger = await hosted.ledger({ identity: forged, attempts: 1 });
    await expect(ledger.append(entries(900, 1))).rejects.toThrow(/400[\s\S]*Failed to authenticate request/);
    expect(hosted.gateway.seen.executed).toBe(executed);
    expect(hosted.gateway.refusals.at(-1)).toMatch(/^400 Failed to authenticate/);
  });

  it("accepts secp256k1, ECDSA P-256 and delegated senders, and refuses an expired or mis-targeted delegation", async () => {
    const session = Ed25519KeyIdentity.generate();
    const root = Ed25519KeyIdentity.generate();
    const delegated = DelegationIdentity.fromDelegation(
      session,
      await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 60_000), {
        targets: [canister],
      }),
    );
    for (const identity of [
      Secp256k1KeyIdentity.generate(),
      await ECDSAKeyIdentity.generate(),
      delegated,
      new AnonymousIdentity(),
    ]) {
      const ledger = await hosted.ledger({ identity, attempts: 1 });
      expect(await ledger.size()).toBeGreaterThanOrEqual(0);
    }
    const expired = DelegationIdentity.fromDelegation(
      session,
      await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() - 1_000)),
    );
    expect(await (await post("query", expired, tipQuery)).text()).toMatch(/delegation 0 expired/);
    const elsewhere = DelegationIdentity.fromDelegation(
      session,
      await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 60_000), {
        targets: [Principal.fromText("aaaaa-aa")],
      }),
    );
    expect(await (await post("query", elsewhere, tipQuery)).text()).toMatch(
      /delegation 0 does not allow canister uxrrr-/,
    );
  });

  it("answers an actor's calls and queries with the agent's defaults on v3, and a rejected query is signed too", async () => {
    const caller = await agent();
    const actor = Actor.createActor(
      ({ IDL: I }) => I.Service({ nope: I.Func([], [], ["query"]), nope_update: I.Func([], [], []) }),
      { agent: caller, canisterId: canister },
    );
    await expect((actor as unknown as { nope(): Promise<void> }).nope()).rejects.toThrow(
      /canister has no method canister_query nope/,
    );
    await expect((actor as unknown as { nope_update(): Promise<void> }).nope_update()).rejects.toThrow(
      /canister has no method canister_update nope_update/,
    );
  });
});
