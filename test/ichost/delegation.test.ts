// An application subnet, as every canister on mainnet lives on: the gateway's `delegated` mode
// signs each certificate with the subnet's own BLS key and attaches the root key's delegation
// (subnet/<id>/{public_key, canister_ranges}). The `ic` backend, through @dfinity/agent with its
// default settings, and the project's verifier (verifyCertifiedTip, verifyIcCheckpoint) must
// accept that chain with the root key, and refuse it when the delegation does not cover the
// canister, is not the root key's, or does not name the key that signed the certificate.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  CanisterStatus,
  Certificate,
  Cbor,
  HttpAgent,
  lookup_path,
  lookupResultToBuffer,
  type HashTree,
} from "@dfinity/agent";
import { Principal } from "@dfinity/principal";
import { CertificateRejected, verifyCertifiedTip } from "../../src/ledger/ic/certificate.ts";
import type { IcLedger } from "../../src/ledger/ic/ledger.ts";
import { verifyIcCheckpoint } from "../../src/ledger/checkpoint.ts";
import {
  hashFromHex,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from "../../src/ledger/index.ts";
import { entries, sampleEntry } from "../ledger/fixtures.ts";
import { rootKey } from "../ledger/ic/certificates.ts";
import { Gateway, type CertificateDelegation, type DelegationOptions } from "./gateway.ts";
import { CANISTER_ID, GATEWAY_URL, hostedCanister, skipHosted, skipReason, type Hosted } from "./hosted.ts";

if (skipHosted) console.log(`SKIP delegation suite: ${skipReason}`);

interface DecodedCertificate {
  tree: HashTree;
  signature: Uint8Array;
  delegation?: CertificateDelegation;
}

const canister = Principal.fromText(CANISTER_ID);
const byHex = (hex: string) => Principal.fromUint8Array(new Uint8Array(Buffer.from(hex, "hex")));
const decode = (certificate: Uint8Array) => Cbor.decode<DecodedCertificate>(certificate);
// The canister is index 0xffffffffff900001: mainnet allots ranges in blocks of 2^20 ids.
const BLOCK = ["ffffffffff9000000101", "ffffffffff9fffff0101"];
const NOT_AUTHORIZED = `The certificate contains a delegation that does not include the canister ${CANISTER_ID} in the canister_ranges field`;

describe.skipIf(skipHosted)("an application subnet: certificates delegated by the root key", () => {
  let hosted: Hosted;
  let ledger: IcLedger;
  beforeAll(async () => {
    hosted = await hostedCanister({ gateway: { delegated: true } });
    ledger = await hosted.ledger();
  }, 180_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("signs with the subnet's own key and carries the root key's delegation of it, which the agent checks", async () => {
    const g = hosted.gateway;
    const subnetKey = g.subnetKey;
    if (subnetKey === undefined) throw new Error("the delegated gateway has no subnet key");
    expect(g.subnetId.toText()).toBe(Principal.selfAuthenticating(subnetKey.der).toText());
    expect(g.subnetId.toText()).not.toBe(Principal.selfAuthenticating(hosted.key.der).toText());
    // The agent, as it does before checking a query's signature, reads the node keys — from a
    // read_state certificate it verifies through the delegation.
    const agent = await HttpAgent.create({
      host: GATEWAY_URL,
      identity: hosted.controller,
      rootKey: hosted.key.der,
      fetch: g.fetch,
      retryTimes: 0,
    });
    const status = await CanisterStatus.request({ canisterId: canister, agent, paths: ["subnet", "time"] });
    const subnet = status.get("subnet") as { subnetId: string; nodeKeys: Map<string, Uint8Array> };
    expect(subnet.subnetId).toBe(g.subnetId.toText());
    expect([...subnet.nodeKeys.keys()].sort()).toEqual(g.nodes.map((n) => n.id.toText()).sort());
    expect(Math.abs((status.get("time") as Date).getTime() - Date.now())).toBeLessThan(5_000);

    // The data certificate a query sees: its delegation names the subnet, and its inner
    // certificate — the root key's, with no delegation of its own — certifies the subnet's key
    // and its canister ranges, CBOR [[first, last]].
    const certificate = await g.dataCertificate();
    const outer = decode(certificate);
    const delegation = outer.delegation;
    if (delegation === undefined) throw new Error("the data certificate has no delegation");
    expect(Principal.fromUint8Array(delegation.subnet_id).toText()).toBe(g.subnetId.toText());
    expect(decode(delegation.certificate).delegation).toBeUndefined();
    const inner = await Certificate.create({
      certificate: delegation.certificate,
      rootKey: hosted.key.der,
      canisterId: canister,
    });
    expect(
      toHex(
        lookupResultToBuffer(inner.lookup_path(["subnet", delegation.subnet_id, "public_key"])) ??
          new Uint8Array(),
      ),
    ).toBe(toHex(subnetKey.der));
    const ranges = Cbor.decode<Uint8Array[][]>(
      lookupResultToBuffer(inner.lookup_path(["subnet", delegation.subnet_id, "canister_ranges"])) ??
        new Uint8Array(),
    );
    expect(ranges.map((r) => r.map((id) => toHex(id)))).toEqual([BLOCK]);
    expect(lookupResultToBuffer(inner.lookup_path(["time"]))).toBeDefined();
    // Stripped of its delegation, the outer certificate verifies against the subnet key, not
    // the root key; with it, against the root key.
    const bare = Cbor.encode({ tree: outer.tree, signature: outer.signature });
    await expect(
      Certificate.create({ certificate: bare, rootKey: subnetKey.der, canisterId: canister }),
    ).resolves.toBeInstanceOf(Certificate);
    await expect(
      Certificate.create({ certificate: bare, rootKey: hosted.key.der, canisterId: canister }),
    ).rejects.toThrow(/Signature verification failed/);
    await expect(
      Certificate.create({ certificate, rootKey: hosted.key.der, canisterId: canister }),
    ).resolves.toBeInstanceOf(Certificate);

    // The subnet's own read_state endpoint: as on mainnet, its delegation certifies the subnet's
    // key but no canister ranges (while the subnet's own tree shows them).
    const request = {
      request_type: "read_state",
      sender: Principal.anonymous().toUint8Array(),
      ingress_expiry: g.now() + 60_000_000_000n,
      paths: [[new TextEncoder().encode("subnet")]],
    };
    const response = await g.fetch(`${GATEWAY_URL}/api/v2/subnet/${g.subnetId.toText()}/read_state`, {
      method: "POST",
      body: Cbor.encode({ content: request }),
    });
    expect(response.status).toBe(200);
    const bySubnet = decode(
      Cbor.decode<{ certificate: Uint8Array }>(new Uint8Array(await response.arrayBuffer())).certificate,
    );
    const subnetDelegation = bySubnet.delegation;
    if (subnetDelegation === undefined)
      throw new Error("the subnet read_state certificate has no delegation");
    const subnetInner = await Certificate.create({
      certificate: subnetDelegation.certificate,
      rootKey: hosted.key.der,
      canisterId: canister,
    });
    expect(
      toHex(
        lookupResultToBuffer(subnetInner.lookup_path(["subnet", subnetDelegation.subnet_id, "public_key"])) ??
          new Uint8Array(),
      ),
    ).toBe(toHex(subnetKey.der));
    expect(
      subnetInner.lookup_path(["subnet", subnetDelegation.subnet_id, "canister_ranges"]).status,
    ).not.toBe("Found");
    const outerRanges = Cbor.decode<Uint8Array[][]>(
      lookupResultToBuffer(
        lookup_path(["subnet", g.subnetId.toUint8Array(), "canister_ranges"], bySubnet.tree),
      ) ?? new Uint8Array(),
    );
    expect(outerRanges.map((r) => r.map((id) => toHex(id)))).toEqual([BLOCK]);
    await expect(
      Certificate.create({
        certificate: Cbor.encode({ tree: bySubnet.tree, signature: bySubnet.signature }),
        rootKey: subnetKey.der,
        canisterId: canister,
      }),
    ).resolves.toBeInstanceOf(Certificate);
  });

  it("the ic backend appends, reads proven leaves and gets a verified tip and checkpoint, with the agent's default settings", async () => {
    const receipts = await ledger.append(entries(0, 12));
    expect(receipts.map((r) => r.index)).toEqual([...Array(12).keys()]);
    expect(receipts.every((r) => !r.duplicate && r.size === 12)).toBe(true);
    const tip = await ledger.tip();
    expect(tip.size).toBe(12);
    expect(toHex(tip.root)).toBe(receipts[0]?.root);
    expect(decode(tip.certificate).delegation?.subnet_id).toEqual(hosted.gateway.subnetId.toUint8Array());
    for (let i = 0; i < 12; i++) expect((await ledger.get(i)).envelope.entry).toEqual(sampleEntry(i));
    const p = await ledger.inclusionProof(5, 9);
    verifyInclusion(
      5,
      9,
      hashFromHex(p.leafHash),
      p.auditPath.map((h) => hashFromHex(h)),
      hashFromHex(p.root),
    );
    const c = await ledger.consistencyProof(4, 12);
    verifyConsistency(
      4,
      12,
      c.proof.map((h) => hashFromHex(h)),
      hashFromHex(c.fromRoot),
      hashFromHex(c.toRoot),
    );
    const checkpoint = await ledger.checkpoint();
    expect(checkpoint).toMatchObject({
      size: 12,
      root: toHex(tip.root),
      origin: "ic",
      keyId: `ic:${CANISTER_ID}`,
      publicKey: toHex(hosted.key.der),
    });
    await verifyIcCheckpoint(checkpoint, hosted.key.der);
    // Calls went the v3 way (a certified reply), queries were signature-checked against node
    // keys read through the delegation, and nothing was refused.
    expect(hosted.gateway.seen.call).toBeGreaterThan(0);
    expect(hosted.gateway.seen.v2call).toBe(0);
    expect(hosted.gateway.seen.readState).toBeGreaterThan(0);
    expect(hosted.gateway.refusals).toEqual([]);

    // The v2 way too: the call's outcome read with read_state, through the delegation.
    const v2 = new Gateway({ host: hosted.host, key: hosted.key, delegated: true, v3: false });
    const viaV2 = await hosted.ledger({ fetch: v2.fetch });
    const more = await viaV2.append(entries(12, 3));
    expect(more.map((r) => r.index)).toEqual([12, 13, 14]);
    expect(v2.seen.v2call).toBeGreaterThan(0);
    expect(await ledger.size()).toBe(15);
    expect(v2.refusals).toEqual([]);
  });

  describe("the verifier, on a delegated tip certificate", () => {
    let checkpoint: Checkpoint;
    /** The checkpoint's certificate time, for certificates of the same tip from other gateways. */
    let at: bigint;
    beforeAll(async () => {
      checkpoint = await ledger.checkpoint();
      at = BigInt(Date.parse(checkpoint.timestamp)) * 1_000_000n;
    });

    /** A gateway over the same canister, on a subnet delegated as `delegated` says. */
    const subnet = (delegated: true | DelegationOptions) =>
      new Gateway({ host: hosted.host, key: hosted.key, delegated });
    const tipWith = (certificate: Uint8Array, key = hosted.key.der) => ({
      certificate,
      rootKey: key,
      canisterId: CANISTER_ID,
      size: checkpoint.size,
      root: checkpoint.root,
      maxAgeMs: Number.POSITIVE_INFINITY,
    });
    const checkpointWith = (certificate: Uint8Array): Checkpoint => ({
      ...checkpoint,
      signature: Buffer.from(certificate).toString("base64"),
    });

    /** Both verifiers refuse `certificate` with the root key, naming `reason`. */
    async function refused(certificate: Uint8Array, reason: RegExp | string): Promise<void> {
      const tip = verifyCertifiedTip(tipWith(certificate));
      await expect(tip).rejects.toThrow(CertificateRejected);
      await expect(tip).rejects.toThrow(reason);
      await expect(verifyIcCheckpoint(checkpointWith(certificate), hosted.key.der)).rejects.toThrow(reason);
    }

    /**
     * The `ic` backend over `g`: with the agent's defaults, the agent refuses the tip query
     * (its read_state for the node keys fails) with `agentReason`; with the query-signature
     * check off, the tip's certificate reaches the project's verifier, which refuses it. What the
     * agent only logs (console.warn) must include `logged`.
     */
    async function backendRefuses(
      g: Gateway,
      agentReason: RegExp | string,
      verifierReason: RegExp | string,
      logged?: string,
    ): Promise<void> {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      vi.spyOn(console, "group").mockImplementation(() => {});
      vi.spyOn(console, "groupEnd").mockImplementation(() => {});
      const defaults = await hosted.ledger({ fetch: g.fetch, attempts: 1 });
      await expect(defaults.tip()).rejects.toThrow(agentReason);
      if (logged !== undefined)
        expect(
          warn.mock.calls.flat().some((a) => String(a instanceof Error ? a.message : a).includes(logged)),
        ).toBe(true);
      const unchecked = await hosted.ledger({ fetch: g.fetch, attempts: 1, verifyQuerySignatures: false });
      const tip = unchecked.tip();
      await expect(tip).rejects.toThrow(CertificateRejected);
      await expect(tip).rejects.toThrow(verifierReason);
    }

    it("accepts it with the root key, from any subnet the root key delegates the canister to", async () => {
      await verifyIcCheckpoint(checkpoint, hosted.key.der);
      const certificate = new Uint8Array(Buffer.from(checkpoint.signature, "base64"));
      expect((await verifyCertifiedTip(tipWith(certificate))).time.toISOString()).toBe(checkpoint.timestamp);
      // Another subnet, another key; and one whose delegated range is the canister alone (the
      // range's ends are included).
      for (const g of [subnet(true), subnet({ ranges: [[canister, canister]] })]) {
        const other = await g.dataCertificate(at);
        expect(decode(other).delegation?.subnet_id).toEqual(g.subnetId.toUint8Array());
        await verifyIcCheckpoint(checkpointWith(other), hosted.key.der);
      }
    });

    it("refuses it with another root key, with the subnet's key as the root key, and with the mainnet key", async () => {
      const certificate = new Uint8Array(Buffer.from(checkpoint.signature, "base64"));
      const subnetKey = hosted.gateway.subnetKey;
      if (subnetKey === undefined) throw new Error("no subnet key");
      for (const key of [rootKey().der, subnetKey.der]) {
        await expect(verifyCertifiedTip(tipWith(certificate, key))).rejects.toThrow(
          /does not verify for canister [a-z0-9-]+ under the root key: .*Signature verification failed/,
        );
        await expect(verifyIcCheckpoint(checkpoint, key)).rejects.toThrow(CertificateRejected);
      }
      await expect(verifyIcCheckpoint(checkpoint)).rejects.toThrow(CertificateRejected);
    });

    it("refuses it when the delegation's canister ranges do not include the canister", async () => {
      const outside = [
        // The neighbouring blocks, and the block split around the canister.
        [
          [byHex("ffffffffff8000000101"), byHex("ffffffffff8fffff0101")],
          [byHex("ffffffffffa000000101"), byHex("ffffffffffafffff0101")],
        ],
        [
          [byHex("ffffffffff9000000101"), byHex("ffffffffff9000000101")],
          [byHex("ffffffffff9000020101"), byHex("ffffffffff9fffff0101")],
        ],
      ] as const;
      for (const ranges of outside) {
        const g = subnet({ ranges });
        await refused(await g.dataCertificate(at), NOT_AUTHORIZED);
      }
      // Through the agent: its read_state of the node keys fails the same check, which it only
      // logs, and it then refuses the query as unsigned; with that check off, the verifier refuses.
      const g = subnet({ ranges: outside[0] });
      await backendRefuses(
        g,
        "Query response did not contain any node signatures",
        NOT_AUTHORIZED,
        NOT_AUTHORIZED,
      );
    });

    it("refuses a delegation signed by a key other than the root key", async () => {
      const g = subnet({ delegationSigner: rootKey() });
      await refused(await g.dataCertificate(at), /Signature verification failed/);
      await backendRefuses(
        g,
        /Certificate verification error: "Signature verification failed/,
        /Signature verification failed/,
      );
    });

    it("refuses a certificate signed by a key other than the one the delegation certifies", async () => {
      // Another key; and the root key itself, which has delegated this subnet's certificates.
      for (const certificateSigner of [rootKey(), hosted.key]) {
        const g = subnet({ certificateSigner });
        const certificate = await g.dataCertificate(at);
        // The delegation itself is the root key's and names the subnet's key.
        const delegation = decode(certificate).delegation;
        if (delegation === undefined) throw new Error("no delegation");
        await Certificate.create({
          certificate: delegation.certificate,
          rootKey: hosted.key.der,
          canisterId: canister,
        });
        await refused(certificate, /Signature verification failed/);
      }
      await backendRefuses(
        subnet({ certificateSigner: rootKey() }),
        /Certificate verification error: "Signature verification failed/,
        /Signature verification failed/,
      );
    });
  });
});
