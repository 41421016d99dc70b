// The `ic` backend end to end on a real replica: the ledger canister compiled from source,
// installed on a PocketIC instance (one NNS subnet, whose key is the root key, and one
// application subnet), reached through PocketIC's HTTP gateway by @dfinity/agent's HttpAgent —
// real ingress messages, query replies checked as the agent checks a replica's, and subnet
// certificates that chain to the NNS key through a delegation.
//
// Runs wherever POCKET_IC_BIN names a PocketIC server binary (>= 10.0.0; written against the
// 13.0.0 API, see client.ts); skipped, saying so, where it is unset. Nothing is downloaded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpAgent } from "@dfinity/agent";
import { IDL } from "@dfinity/candid";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { Principal } from "@dfinity/principal";
import { compileCanister } from "../canister/compile.ts";
import { IcLedger } from "../../src/ledger/ic/ledger.ts";
import {
  hashFromHex,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type LedgerEntry,
} from "../../src/ledger/index.ts";
import { entries, sampleEntry } from "../ledger/fixtures.ts";
import { rootKey as generatedRootKey } from "../ledger/ic/certificates.ts";
import { NO_ARGS, PocketIcInstance, PocketIcServer } from "./client.ts";

const BIN = process.env["POCKET_IC_BIN"] ?? "";
const skip = BIN === "";
if (skip) {
  console.log(
    "SKIP PocketIC suite: POCKET_IC_BIN is not set (point it at a PocketIC server binary, e.g. `POCKET_IC_BIN=/path/to/pocket-ic make test`; nothing is downloaded)",
  );
}

const SLOW = 180_000;

/** An entry whose canonical JSON is about `bytes` long. */
function bulky(n: number, bytes: number): LedgerEntry {
  return { ...sampleEntry(n), key: `bulky-${n}`, data: { revision: n, blob: "x".repeat(bytes) } };
}

describe.skipIf(skip)("the ic backend against the ledger canister on PocketIC", () => {
  const controller = Ed25519KeyIdentity.generate();
  const stranger = Ed25519KeyIdentity.generate();
  let server: PocketIcServer | undefined;
  let pic: PocketIcInstance | undefined;
  let wasm: Uint8Array;
  let canisterId: Principal;
  let host: string;
  let instanceRootKey: Uint8Array;
  let ledger: IcLedger;

  const open = (identity = controller, key = instanceRootKey) =>
    IcLedger.create({ canisterId: canisterId.toText(), host, identity, rootKey: key });
  const instance = (): PocketIcInstance => {
    if (pic === undefined) throw new Error("no PocketIC instance");
    return pic;
  };
  /** Calls a canister method over the REST API, as the controller. */
  const asController = (method: string, types: IDL.Type[], args: unknown[]) =>
    instance().updateCall({
      sender: controller.getPrincipal(),
      canisterId,
      method,
      payload: new Uint8Array(IDL.encode(types, args)),
      effectivePrincipal: { canisterId },
    });

  beforeAll(async () => {
    wasm = (await compileCanister()).wasm;
    server = await PocketIcServer.start({ binary: BIN, echo: process.env["POCKET_IC_ECHO"] === "1" });
    try {
      pic = await PocketIcInstance.create(server.http, { nns: true, applicationSubnets: 1 });
      instanceRootKey = await pic.rootKey();
      const me = controller.getPrincipal();
      canisterId = await pic.createCanister({ sender: me, controllers: [me], cycles: 10n ** 15n });
      await pic.installCode({ sender: me, canisterId, wasm, arg: NO_ARGS, mode: "install" });
      host = await pic.makeLive(process.env["POCKET_IC_GATEWAY_HOST"] ?? "127.0.0.1");
      ledger = await open();
    } catch (e: unknown) {
      throw new Error(
        `setting up PocketIC failed: ${e instanceof Error ? e.message : String(e)}\n--- server output ---\n${server.logs()}`,
        { cause: e },
      );
    }
  }, 300_000);

  afterAll(async () => {
    try {
      await pic?.delete();
    } finally {
      await server?.stop();
    }
  }, 60_000);

  it("serves, through its gateway, the same root key the instance reports", async () => {
    const agent = await HttpAgent.create({ host, shouldFetchRootKey: true });
    expect(toHex(await agent.fetchRootKey())).toBe(toHex(instanceRootKey));
  });

  it(
    "appends through the agent, and size, root and checkpoint come from a tip certified under the instance's root key",
    async () => {
      const receipts = await ledger.append(entries(0, 20));
      expect(receipts.map((r) => r.index)).toEqual([...Array(20).keys()]);
      expect(receipts.every((r) => !r.duplicate && r.size === 20)).toBe(true);
      expect(await ledger.size()).toBe(20);
      const root = await ledger.root();
      expect(receipts[19]?.root).toBe(root);
      const checkpoint = await ledger.checkpoint();
      expect(checkpoint).toMatchObject({ size: 20, root, origin: "ic" });
      const leaf = await ledger.get(3);
      expect(leaf.envelope.entry).toEqual(sampleEntry(3));
      expect(leaf.envelope.recordedBy).toBe(controller.getPrincipal().toText());
    },
    SLOW,
  );

  it(
    "refuses the same tip when certificates are checked against another root key",
    async () => {
      const wrongKey = await open(controller, generatedRootKey().der).catch((e: unknown) => e);
      if (wrongKey instanceof IcLedger) {
        try {
          await expect(wrongKey.checkpoint()).rejects.toThrow();
          await expect(wrongKey.size()).rejects.toThrow();
        } finally {
          await wrongKey.close();
        }
      } else {
        expect(wrongKey).toBeInstanceOf(Error);
      }
    },
    SLOW,
  );

  it(
    "returns the first receipts for keys it already holds, and appends only what is new",
    async () => {
      const first = await Promise.all([...Array(20).keys()].map((i) => ledger.lookup(`key-${i}`)));
      const again = await ledger.append(entries(0, 20));
      expect(again.every((r) => r.duplicate)).toBe(true);
      expect(again.map((r) => [r.index, r.leafHash])).toEqual(first.map((r) => [r?.index, r?.leafHash]));
      expect(await ledger.size()).toBe(20);
      const mixed = await ledger.append(entries(15, 10));
      expect(mixed.map((r) => [r.index, r.duplicate])).toEqual([
        [15, true],
        [16, true],
        [17, true],
        [18, true],
        [19, true],
        [20, false],
        [21, false],
        [22, false],
        [23, false],
        [24, false],
      ]);
      expect(await ledger.size()).toBe(25);
      expect(await ledger.lookup("no-such-key")).toBeUndefined();
    },
    SLOW,
  );

  it(
    "serves inclusion and consistency proofs the verifiers accept",
    async () => {
      const size = await ledger.size();
      const root = await ledger.root();
      for (const index of [0, 7, 19, size - 1]) {
        const p = await ledger.inclusionProof(index);
        expect(p).toMatchObject({ index, size, root });
        verifyInclusion(
          p.index,
          p.size,
          hashFromHex(p.leafHash),
          p.auditPath.map((h) => hashFromHex(h)),
          hashFromHex(p.root),
        );
        const older = await ledger.inclusionProof(Math.min(index, 9), 10);
        verifyInclusion(
          older.index,
          10,
          hashFromHex(older.leafHash),
          older.auditPath.map((h) => hashFromHex(h)),
          hashFromHex(await ledger.root(10)),
        );
      }
      for (const from of [1, 10, 20]) {
        const c = await ledger.consistencyProof(from);
        expect(c).toMatchObject({ from, to: size, toRoot: root, fromRoot: await ledger.root(from) });
        verifyConsistency(
          c.from,
          c.to,
          c.proof.map((h) => hashFromHex(h)),
          hashFromHex(c.fromRoot),
          hashFromHex(c.toRoot),
        );
      }
    },
    SLOW,
  );

  it(
    "keeps every entry and its root across an upgrade (wasm_memory_persistence keep), and appends on",
    async () => {
      const size = await ledger.size();
      const root = await ledger.root();
      const before = await Promise.all(
        [...Array(size).keys()].map(async (i) => toHex((await ledger.get(i)).leaf)),
      );
      await instance().installCode({
        sender: controller.getPrincipal(),
        canisterId,
        wasm,
        arg: NO_ARGS,
        mode: { upgrade: { wasmMemoryPersistence: "keep" } },
      });
      const upgraded = await open();
      try {
        expect(await upgraded.size()).toBe(size);
        expect(await upgraded.root()).toBe(root);
        const after = await Promise.all(
          [...Array(size).keys()].map(async (i) => toHex((await upgraded.get(i)).leaf)),
        );
        expect(after).toEqual(before);
        expect((await upgraded.lookup("key-3"))?.index).toBe(3);
        const more = await upgraded.append(entries(100, 5));
        expect(more.map((r) => [r.index, r.duplicate])).toEqual(
          [...Array(5).keys()].map((i) => [size + i, false]),
        );
        const c = await upgraded.consistencyProof(size);
        expect(c.fromRoot).toBe(root);
        verifyConsistency(
          c.from,
          c.to,
          c.proof.map((h) => hashFromHex(h)),
          hashFromHex(c.fromRoot),
          hashFromHex(c.toRoot),
        );
        // The ledger opened before the upgrade sees the new tip extend the one it trusted.
        expect(await ledger.size()).toBe(size + 5);
      } finally {
        await upgraded.close();
      }
    },
    SLOW,
  );

  it(
    "refuses appends from a principal that is neither a controller nor an appender",
    async () => {
      const before = await ledger.size();
      const outsider = await open(stranger);
      try {
        await expect(outsider.append([{ ...sampleEntry(500), key: "outsider-500" }])).rejects.toThrow(
          /unauthori[sz]ed/i,
        );
        expect(await outsider.size()).toBe(before);
        expect(await outsider.lookup("outsider-500")).toBeUndefined();
      } finally {
        await outsider.close();
      }
      expect(await ledger.size()).toBe(before);
    },
    SLOW,
  );

  it(
    "refuses an entry over the canister's entry limit with a clear error, and records nothing",
    async () => {
      const before = await ledger.size();
      // Over the 1 MiB default (canister/src/Batch.mo DEFAULT_MAX_ENTRY_BYTES, the backend's own
      // limit too): refused before or by the canister, either way with the limit named.
      await expect(ledger.append([bulky(600, 1_100_000)])).rejects.toThrow(/1048576|too.large|over the/i);
      expect(await ledger.size()).toBe(before);
      // The canister's own check: lower its limit (controller only) under an entry the backend sends.
      await asController("set_max_entry_bytes", [IDL.Nat64], [4096n]);
      try {
        await expect(ledger.append([bulky(601, 8192)])).rejects.toThrow(/entry_too_large/);
        expect(await ledger.size()).toBe(before);
      } finally {
        await asController("set_max_entry_bytes", [IDL.Nat64], [1_048_576n]);
      }
      const accepted = await ledger.append([bulky(601, 8192)]);
      expect(accepted.map((r) => [r.index, r.duplicate])).toEqual([[before, false]]);
    },
    SLOW,
  );
});
