import { createHash } from "node:crypto";
import { IDL } from "@dfinity/candid";
import { Principal } from "@dfinity/principal";
import { beforeAll, describe, expect, it } from "vitest";
import { canonicalBytes } from "../../src/ledger/entry.ts";
import { envelopeBytes } from "../../src/ledger/envelope.ts";
import { toHex } from "../../src/ledger/hash.ts";
import { consistencyPath, hashLeaf, inclusionPath } from "../../src/ledger/merkle.ts";
import { MemoryTree } from "../../src/ledger/memory-tree.ts";
import { IcHost, type CallResult } from "../ichost/host.ts";
import { compileCanister } from "./compile.ts";

const Bytes = IDL.Vec(IDL.Nat8);
const Receipt = IDL.Record({
  index: IDL.Nat64,
  leaf_hash: Bytes,
  size: IDL.Nat64,
  root: Bytes,
  duplicate: IDL.Bool,
});
const AppendError = IDL.Variant({
  unauthorized: IDL.Text,
  batch_too_large: IDL.Record({ bytes: IDL.Nat64, limit: IDL.Nat64 }),
  entry_too_large: IDL.Record({ item: IDL.Nat64, bytes: IDL.Nat64, limit: IDL.Nat64 }),
  invalid_entry: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
  invalid_key: IDL.Record({ item: IDL.Nat64, reason: IDL.Text }),
});
const AppendResult = IDL.Variant({ ok: IDL.Vec(Receipt), err: AppendError });
const Item = IDL.Record({ key: IDL.Text, entry: Bytes });
const Tip = IDL.Record({ size: IDL.Nat64, root: Bytes, certificate: IDL.Opt(Bytes) });
const Leaf = IDL.Record({ index: IDL.Nat64, leaf: Bytes });
const Proof = IDL.Variant({ ok: IDL.Vec(Bytes), err: IDL.Text });

type ReceiptT = { index: bigint; leaf_hash: Uint8Array; size: bigint; root: Uint8Array; duplicate: boolean };
type AppendT = { ok: ReceiptT[] } | { err: Record<string, unknown> };

const controller = Principal.fromUint8Array(Uint8Array.of(1, 2, 3));
const operator = Principal.fromUint8Array(Uint8Array.of(9, 9, 9, 9));
const stranger = Principal.fromUint8Array(Uint8Array.of(7));

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 24;
if (skip)
  console.log(
    `SKIP actor suite: the canister is wasm64, which needs Node 24 (this is Node ${process.versions.node})`,
  );

function decode(r: CallResult, types: IDL.Type[]): unknown[] {
  if (r.reject !== undefined) throw new Error(`rejected: ${r.reject}`);
  return IDL.decode(types, r.reply ?? new Uint8Array());
}
const enc = (types: IDL.Type[], values: unknown[]): Uint8Array => new Uint8Array(IDL.encode(types, values));
const entry = (key: string): Uint8Array => canonicalBytes({ key, kind: "ModelRegistered", n: key.length });

let host: IcHost;
function append(caller: Principal, keys: string[]): AppendT {
  const items = keys.map((key) => ({ key, entry: entry(key) }));
  return decode(host.update("append", enc([IDL.Vec(Item)], [items]), caller), [AppendResult])[0] as AppendT;
}
function tip(): { size: bigint; root: Uint8Array; certificate: Uint8Array[] } {
  return decode(host.query("tip", enc([], []), stranger), [Tip])[0] as {
    size: bigint;
    root: Uint8Array;
    certificate: Uint8Array[];
  };
}
function proof(method: string, a: number, b: number): Uint8Array[] {
  const out = decode(host.query(method, enc([IDL.Nat64, IDL.Nat64], [BigInt(a), BigInt(b)]), stranger), [
    Proof,
  ])[0] as { ok?: Uint8Array[]; err?: string };
  if (out.ok === undefined) throw new Error(`${method}(${a}, ${b}): ${out.err}`);
  return out.ok;
}

// The TypeScript tree over the envelopes the canister should have built.
const tsTree = new MemoryTree();
const recorded: Uint8Array[] = [];
function expectLeaves(keys: string[], at: bigint, by: Principal): void {
  for (const key of keys) {
    const leaf = envelopeBytes(entry(key), at.toString(), by.toText());
    recorded.push(leaf);
    tsTree.appendLeafHash(hashLeaf(leaf));
  }
}

describe.skipIf(skip)("ledger canister on a minimal IC host", () => {
  beforeAll(async () => {
    const options = {
      canisterId: "lqy7q-dh777-77777-aaaaq-cai",
      controllers: [controller],
      time: 1_700_000_000_000_000_000n,
    };
    host = await IcHost.install((await compileCanister()).wasm, options, enc([], []), controller);
  }, 180_000);

  it("refuses appends from a principal that is neither appender nor controller", () => {
    const out = append(operator, ["a"]);
    expect("err" in out && "unauthorized" in out.err).toBe(true);
    expect(tip().size).toBe(0n);
  });

  it("lets only controllers manage appenders", () => {
    const r = host.update("add_appender", enc([IDL.Principal], [operator]), stranger);
    expect(r.reject).toMatch(/add_appender: caller .* is not a controller/);
    expect("err" in append(operator, ["a"])).toBe(true);
    expect(host.query("appenders", enc([], []), stranger).reject).toMatch(
      /appenders: caller .* is not a controller/,
    );
  });

  it("appends a batch, each leaf the shared envelope, certified data = SHA-256(u64be(size) ‖ root)", () => {
    expect(host.update("add_appender", enc([IDL.Principal], [operator]), controller)).toEqual({
      reply: enc([], []),
    });
    expect(decode(host.query("appenders", enc([], []), controller), [IDL.Vec(IDL.Principal)])[0]).toEqual([
      operator,
    ]);
    host.time = 1_732_500_000_123_456_789n;
    const out = append(operator, ["k0", "k1", "k2"]);
    if (!("ok" in out)) throw new Error(JSON.stringify(out.err));
    expectLeaves(["k0", "k1", "k2"], host.time, operator);
    expect(out.ok.map((r) => [r.index, r.size, r.duplicate])).toEqual([
      [0n, 3n, false],
      [1n, 3n, false],
      [2n, 3n, false],
    ]);
    expect(out.ok.map((r) => toHex(r.leaf_hash))).toEqual(recorded.map((l) => toHex(hashLeaf(l))));
    const root = toHex(tsTree.root());
    expect(out.ok.every((r) => toHex(r.root) === root)).toBe(true);
    const t = tip();
    expect([t.size, toHex(t.root)]).toEqual([3n, root]);
    const size = Buffer.alloc(8);
    size.writeBigUInt64BE(3n);
    expect(toHex(host.certifiedData)).toBe(createHash("sha256").update(size).update(t.root).digest("hex"));
  });

  it("returns the existing receipt for a known key, also within one batch, and adds nothing", () => {
    host.time += 1_000n;
    const out = append(operator, ["k1", "k3", "k3"]);
    if (!("ok" in out)) throw new Error(JSON.stringify(out.err));
    expectLeaves(["k3"], host.time, operator);
    expect(out.ok.map((r) => [r.index, r.duplicate, r.size])).toEqual([
      [1n, true, 4n],
      [3n, false, 4n],
      [3n, true, 4n],
    ]);
    expect(tip().size).toBe(4n);
  });

  it("serves the leaf bytes, and inclusion and consistency proofs equal to the TypeScript ones", () => {
    const leaves = decode(host.query("entries", enc([IDL.Nat64, IDL.Nat64], [0n, 10n]), stranger), [
      IDL.Vec(Leaf),
    ])[0] as { index: bigint; leaf: Uint8Array }[];
    expect(leaves.map((l) => toHex(l.leaf))).toEqual(recorded.map(toHex));
    for (let size = 1; size <= 4; size++) {
      for (let i = 0; i < size; i++)
        expect(proof("inclusion_proof", i, size).map(toHex)).toEqual(
          inclusionPath(tsTree.source, i, size).map(toHex),
        );
      for (let m = 0; m <= size; m++)
        expect(proof("consistency_proof", m, size).map(toHex)).toEqual(
          consistencyPath(tsTree.source, m, size).map(toHex),
        );
    }
    expect(() => proof("inclusion_proof", 4, 4)).toThrow(/not below tree size/);
    expect(() => proof("consistency_proof", 1, 5)).toThrow(/exceeds ledger size/);
  });

  it("reports its size, stored bytes and limits in stats", () => {
    const Stats = IDL.Record({
      size: IDL.Nat64,
      leaf_bytes: IDL.Nat64,
      stable_bytes: IDL.Nat64,
      max_entry_bytes: IDL.Nat64,
      max_batch_bytes: IDL.Nat64,
      max_key_bytes: IDL.Nat64,
      max_query_entries: IDL.Nat64,
      max_query_bytes: IDL.Nat64,
      last_append_entries: IDL.Nat64,
      last_append_instructions: IDL.Nat64,
    });
    const st = decode(host.query("stats", enc([], []), stranger), [Stats])[0] as Record<string, bigint>;
    expect(st["size"]).toBe(4n);
    expect(st["leaf_bytes"]).toBe(BigInt(recorded.reduce((n, l) => n + l.length, 0)));
    expect([st["max_batch_bytes"], st["max_entry_bytes"], st["last_append_entries"]]).toEqual([
      2_097_152n,
      1_048_576n,
      3n,
    ]);
  });

  it("returns the certificate the system provides in a query", () => {
    const cert = Uint8Array.of(0xd9, 0xd9, 0xf7);
    host.certificate = cert;
    const t = decode(host.query("tip", enc([], []), stranger), [Tip])[0] as { certificate: Uint8Array[] };
    host.certificate = undefined;
    expect(t.certificate.map(toHex)).toEqual([toHex(cert)]);
    expect(
      (decode(host.query("tip", enc([], []), stranger), [Tip])[0] as { certificate: Uint8Array[] })
        .certificate,
    ).toEqual([]);
  });
});
