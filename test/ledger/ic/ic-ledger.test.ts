// The `ic` backend end to end against the real compiled canister: @dfinity/agent's HttpAgent
// and Actor, over the gateway (test/ichost/gateway.ts), into the canister on the IC host.
import { beforeAll, describe, expect, it } from "vitest";
import { IDL } from "@dfinity/candid";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { certifiedTipData, CertificateRejected } from "../../../src/ledger/ic/certificate.ts";
import { IcAppendRefused, IcVerificationError, type IcLedger } from "../../../src/ledger/ic/ledger.ts";
import { verifyIcCheckpoint } from "../../../src/ledger/checkpoint.ts";
import {
  hashFromHex,
  hashLeaf,
  MemoryTree,
  toHex,
  verifyConsistency,
  verifyInclusion,
} from "../../../src/ledger/index.ts";
import { hostedCanister, skipHosted, skipReason, type Hosted } from "../../ichost/hosted.ts";
import { entries, sampleEntry } from "../fixtures.ts";
import { rootKey } from "./certificates.ts";

if (skipHosted) console.log(`SKIP ic backend suite: ${skipReason}`);

describe.skipIf(skipHosted)("the ic backend against the compiled canister", () => {
  let hosted: Hosted;
  let ledger: IcLedger;
  beforeAll(async () => {
    hosted = await hostedCanister();
    ledger = await hosted.ledger();
  }, 180_000);

  it("proves the empty ledger's tip, then appends a batch and returns receipts whose tip is the certified one", async () => {
    expect(await ledger.size()).toBe(0);
    expect(await ledger.root()).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const receipts = await ledger.append(entries(0, 10));
    expect(receipts.map((r) => r.index)).toEqual([...Array(10).keys()]);
    expect(receipts.every((r) => !r.duplicate && r.size === 10)).toBe(true);
    expect(await ledger.size()).toBe(10);
    const root = await ledger.root();
    expect(receipts[0]?.root).toBe(root);
    expect(toHex(hosted.host.certifiedData)).toBe(toHex(certifiedTipData(10, root)));
  });

  it("serves leaves whose tree, rebuilt by the TypeScript tree, has the certified root", async () => {
    const size = await ledger.size();
    const tree = new MemoryTree();
    for (let i = 0; i < size; i++) {
      const leaf = await ledger.get(i);
      expect(leaf.envelope.entry).toEqual(sampleEntry(i));
      expect(leaf.envelope.recordedBy).toBe(hosted.controller.getPrincipal().toText());
      expect(leaf.leafHash).toBe(toHex(hashLeaf(leaf.leaf)));
      tree.appendLeafHash(hashLeaf(leaf.leaf));
    }
    expect(toHex(tree.root())).toBe(await ledger.root());
    const leaves = await ledger.readLeaves(0, size);
    expect(leaves.map((l) => l.leafHash)).toEqual(
      (await Promise.all([...Array(size).keys()].map((i) => ledger.get(i)))).map((l) => l.leafHash),
    );
  });

  it("gives inclusion and consistency proofs that the TypeScript verifier accepts, for past sizes too", async () => {
    await ledger.append(entries(10, 7));
    const size = await ledger.size();
    for (const [index, at] of [
      [0, 1],
      [3, 10],
      [9, 10],
      [12, 17],
      [16, 17],
      [5, 13],
    ] as const) {
      const p = await ledger.inclusionProof(index, at);
      expect(p.size).toBe(at);
      verifyInclusion(
        index,
        at,
        hashFromHex(p.leafHash),
        p.auditPath.map((h) => hashFromHex(h)),
        hashFromHex(p.root),
      );
      expect(p.root).toBe(await ledger.root(at));
    }
    for (const [from, to] of [
      [1, 17],
      [4, 17],
      [10, 17],
      [7, 13],
      [16, 17],
      [17, 17],
    ] as const) {
      const c = await ledger.consistencyProof(from, to);
      verifyConsistency(
        from,
        to,
        c.proof.map((h) => hashFromHex(h)),
        hashFromHex(c.fromRoot),
        hashFromHex(c.toRoot),
      );
    }
    expect(size).toBe(17);
    // Roots of past sizes equal the TypeScript tree over the same leaves.
    const tree = new MemoryTree();
    for (const leaf of await ledger.readLeaves(0, 13)) tree.appendLeafHash(hashLeaf(leaf.leaf));
    expect(await ledger.root(13)).toBe(toHex(tree.root()));
  });

  it("returns the first receipt, marked duplicate, for keys already recorded, and lookup finds them", async () => {
    const before = await ledger.size();
    const again = await ledger.append([sampleEntry(2), sampleEntry(17), sampleEntry(2)]);
    expect(again.map((r) => [r.index, r.duplicate])).toEqual([
      [2, true],
      [17, false],
      [2, true],
    ]);
    expect(await ledger.size()).toBe(before + 1);
    expect(await ledger.lookup("key-17")).toMatchObject({ index: 17, duplicate: true, size: before + 1 });
    expect(await ledger.lookup("key-unknown")).toBeUndefined();
  });

  it("retries after the canister was unreachable or unavailable, and after a lost reply adds nothing twice", async () => {
    const warnings: string[] = [];
    const retrying = await hosted.ledger({ warn: (m) => warnings.push(m) });
    const before = await retrying.size();
    hosted.gateway.faults.push("unreachable", "unavailable");
    const first = await retrying.append(entries(100, 3));
    expect(first.map((r) => r.duplicate)).toEqual([false, false, false]);
    expect(warnings).toHaveLength(2);
    const executed = hosted.gateway.seen.executed;
    hosted.gateway.faults.push("lose-reply");
    const second = await retrying.append(entries(103, 2));
    // The first attempt was executed and its reply lost; the retry finds both keys recorded.
    expect(hosted.gateway.seen.executed).toBe(executed + 2);
    expect(second.map((r) => [r.index, r.duplicate])).toEqual([
      [before + 3, true],
      [before + 4, true],
    ]);
    expect(await retrying.size()).toBe(before + 5);
  });

  it("gives up after its attempts and says why", async () => {
    const impatient = await hosted.ledger({ attempts: 2 });
    hosted.gateway.faults.push("unreachable", "unreachable");
    await expect(impatient.append(entries(200, 1))).rejects.toThrow(/ECONNREFUSED/);
    expect(await impatient.lookup("key-200")).toBeUndefined();
  });

  it("refuses an unauthorised caller, and accepts it once a controller adds it as an appender", async () => {
    const stranger = Ed25519KeyIdentity.generate();
    const theirs = await hosted.ledger({ identity: stranger });
    const before = await ledger.size();
    await expect(theirs.append(entries(300, 1))).rejects.toThrow(IcAppendRefused);
    await expect(theirs.append(entries(300, 1))).rejects.toThrow(
      /unauthorized: caller [a-z0-9-]+ may not append/,
    );
    expect(await ledger.size()).toBe(before);
    hosted.control("add_appender", stranger.getPrincipal());
    const [receipt] = await theirs.append(entries(300, 1));
    expect(receipt?.index).toBe(before);
    expect((await ledger.get(before)).envelope.recordedBy).toBe(stranger.getPrincipal().toText());
    hosted.control("remove_appender", stranger.getPrincipal());
    await expect(theirs.append(entries(301, 1))).rejects.toThrow(/unauthorized/);
  });

  it("splits batches above the ingress limit into several calls", async () => {
    const big = (n: number) => ({ ...sampleEntry(n), data: { blob: "x".repeat(700_000) } });
    const calls = hosted.gateway.seen.call;
    const receipts = await ledger.append([big(400), big(401), big(402), big(403)]);
    expect(receipts.every((r) => !r.duplicate)).toBe(true);
    expect(hosted.gateway.seen.call - calls).toBe(2);
    // A larger batch size asked for is capped below the ingress limit: still split, still accepted.
    const careless = await hosted.ledger({ maxBatchBytes: 10_000_000 });
    const before = hosted.gateway.seen.call;
    await careless.append([big(404), big(405), big(406), big(407)]);
    expect(hosted.gateway.seen.call - before).toBe(2);
  });

  it("refuses an entry above the canister's configured maximum, naming the entry", async () => {
    hosted.control("set_max_entry_bytes", 4096n);
    try {
      const big = { ...sampleEntry(500), data: { blob: "y".repeat(5000) } };
      await expect(ledger.append([sampleEntry(501), big])).rejects.toThrow(
        /entry_too_large: entry 1 is \d+ bytes, limit 4096/,
      );
      expect(await ledger.lookup("key-501")).toBeUndefined();
    } finally {
      hosted.control("set_max_entry_bytes", 1_048_576n);
    }
  });

  it("rejects a tip certified by another root key, a stale one, and one for other data", async () => {
    // With the agent's query-signature check on, the certificate carrying the node keys fails
    // first, inside the agent; with it off, the backend's own tip check refuses.
    const wrongKey = await hosted.ledger({ rootKey: rootKey().der });
    await expect(wrongKey.size()).rejects.toThrow(/Certificate verification error/);
    const ownCheck = await hosted.ledger({ rootKey: rootKey().der, verifyQuerySignatures: false });
    await expect(ownCheck.size()).rejects.toThrow(
      /does not verify for canister [a-z0-9-]+ under the root key/,
    );
    const strict = await hosted.ledger({ maxCertificateAgeMs: 60_000 });
    const realTime = hosted.host.time;
    const gateway = hosted.gateway as unknown as { wallClock: boolean };
    gateway.wallClock = false;
    hosted.host.time = realTime - 10n * 60n * 1_000_000_000n;
    try {
      await expect(strict.size()).rejects.toThrow(CertificateRejected);
      await expect(strict.size()).rejects.toThrow(/it is 60\d s old, more than the 60 s allowed/);
    } finally {
      gateway.wallClock = true;
    }
    const saved = hosted.host.certifiedData;
    hosted.host.certifiedData = new Uint8Array(32);
    try {
      await expect((await hosted.ledger()).size()).rejects.toThrow(/certified data [0-9a-f]+ is not SHA-256/);
    } finally {
      hosted.host.certifiedData = saved;
    }
  });

  it("notices a certified tip that does not extend the one it saw before", async () => {
    const watcher = await hosted.ledger();
    await watcher.size();
    // Another history of the same size+1 under a valid certificate: a forked or rolled-back canister.
    const other = await hostedCanister();
    const forked = await other.ledger();
    await forked.append(entries(0, (await watcher.size()) + 1));
    const liar = watcher as unknown as { actor: unknown };
    liar.actor = (forked as unknown as { actor: unknown }).actor;
    (watcher as unknown as { options: { rootKey: Uint8Array } }).options.rootKey = other.key.der;
    (watcher as unknown as { agent: { rootKey: Uint8Array } }).agent.rootKey = other.key.der;
    await expect(watcher.size()).rejects.toThrow(IcVerificationError);
    await expect(watcher.size()).rejects.toThrow(/does not extend the one at size/);
  }, 180_000);

  it("checks concurrent tips one after another, each against the last", async () => {
    const watcher = await hosted.ledger();
    const before = await watcher.size();
    await ledger.append(entries(600, 3));
    hosted.gateway.log.length = 0;
    const sizes = await Promise.all([watcher.size(), watcher.size(), watcher.size()]);
    expect(sizes).toEqual([before + 3, before + 3, before + 3]);
    // The first new tip is proven to extend the old one before the next tip is even fetched.
    expect(hosted.gateway.log).toEqual(["query:tip", "query:consistency_proof", "query:tip", "query:tip"]);
  });

  it("does not take the canister's word for a lookup: the leaf it names must carry the key", async () => {
    const honest = await ledger.lookup("key-3");
    expect(honest).toMatchObject({ index: 3, duplicate: true });
    // Its tip is a certified one this instance verified (possibly older than the newest).
    expect(honest?.size).toBeGreaterThan(3);
    expect(honest?.root).toBe(await ledger.root(honest?.size));
    const Receipt = IDL.Opt(
      IDL.Record({
        index: IDL.Nat64,
        leaf_hash: IDL.Vec(IDL.Nat8),
        size: IDL.Nat64,
        root: IDL.Vec(IDL.Nat8),
        duplicate: IDL.Bool,
      }),
    );
    hosted.gateway.tamper = (method, reply) => {
      if (method !== "lookup") return reply;
      const [found] = IDL.decode([Receipt], reply) as [[{ index: bigint }] | []];
      return new Uint8Array(IDL.encode([Receipt], [found.map((r) => ({ ...r, index: 5n }))]));
    };
    try {
      await expect(ledger.lookup("key-3")).rejects.toThrow(
        /lookup of "key-3" named entry 5, whose key is "key-5"/,
      );
    } finally {
      hosted.gateway.tamper = undefined;
    }
  });

  it("makes checkpoints from the certificate that verify on their own, and fail when altered", async () => {
    const c = await ledger.checkpoint();
    expect(c).toMatchObject({
      origin: "ic",
      keyId: `ic:${hosted.host.canisterId.toText()}`,
      size: await ledger.size(),
    });
    await verifyIcCheckpoint(c, hosted.key.der);
    // Without a pinned key the IC mainnet key is required: a test subnet's certificate fails.
    await expect(verifyIcCheckpoint(c)).rejects.toThrow(
      /does not verify for canister [a-z0-9-]+ under the root key/,
    );
    await expect(verifyIcCheckpoint({ ...c, root: "00".repeat(32) }, hosted.key.der)).rejects.toThrow(
      /certified data/,
    );
    await expect(verifyIcCheckpoint({ ...c, size: c.size - 1 }, hosted.key.der)).rejects.toThrow(
      /certified data/,
    );
    await expect(verifyIcCheckpoint(c, rootKey().der)).rejects.toThrow(
      /does not verify for canister [a-z0-9-]+ under the root key/,
    );
    await expect(verifyIcCheckpoint({ ...c, keyId: "ic:aaaaa-aa" }, hosted.key.der)).rejects.toThrow(
      /certifies no data for canister aaaaa-aa/,
    );
    await expect(
      verifyIcCheckpoint({ ...c, timestamp: new Date(0).toISOString() }, hosted.key.der),
    ).rejects.toThrow(/not the certificate's/);
  });
});
