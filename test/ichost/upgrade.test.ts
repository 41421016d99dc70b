// Upgrades of the compiled ledger canister on the IC host, the way the replica runs them for a
// Motoko canister with enhanced orthogonal persistence (install_code mode upgrade with
// wasm_memory_persistence = keep): every leaf, proof, the root, the appenders and the certified
// data must come through unchanged, and the tree must continue from where it was.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IDL } from "@dfinity/candid";
import type { Principal } from "@dfinity/principal";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { beforeAll, describe, expect, it } from "vitest";
import { compileCanister } from "../canister/compile.ts";
import { canisterSrc } from "../canister/motoko.ts";
import { entries, sampleEntry, tempDir } from "../ledger/fixtures.ts";
import { METHODS, type AppendResultValue, type ReceiptValue } from "../../src/ledger/ic/idl.ts";
import { certifiedTipData } from "../../src/ledger/ic/certificate.ts";
import {
  encodeEntry,
  hashLeaf,
  MemoryTree,
  toHex,
  verifyConsistency,
  verifyInclusion,
  type LedgerEntry,
} from "../../src/ledger/index.ts";
import { IcHost } from "./host.ts";
import { declaredMemory, hasMetadata } from "./import-memory.ts";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 24;
if (skip)
  console.log(
    `SKIP upgrade suite: the canister is wasm64, which needs Node 24 (this is Node ${process.versions.node})`,
  );

type Method = keyof typeof METHODS;
type Bytes = Uint8Array | number[];
const bytes = (v: Bytes) => Uint8Array.from(v);
const noArgs = () => new Uint8Array(IDL.encode([], []));
const controller = Ed25519KeyIdentity.generate().getPrincipal();
const operator = Ed25519KeyIdentity.generate().getPrincipal();

/** A copy of canister/src in `dir` with `declaration` added as the actor's last member. */
function variantSource(dir: string, declaration: string): string {
  mkdirSync(dir);
  for (const f of readdirSync(canisterSrc))
    if (f.endsWith(".mo")) copyFileSync(join(canisterSrc, f), join(dir, f));
  const main = readFileSync(join(dir, "main.mo"), "utf8");
  const end = main.lastIndexOf("};");
  if (end < 0 || main.slice(end + 2).trim() !== "")
    throw new Error("canister/src/main.mo does not end with the actor's closing `};`");
  writeFileSync(join(dir, "main.mo"), `${main.slice(0, end)}  ${declaration}\n${main.slice(end)}`);
  return dir;
}

function call(
  host: IcHost,
  kind: "update" | "query",
  method: Method,
  args: unknown[],
  caller: Principal = controller,
): unknown[] {
  const m = METHODS[method];
  const result = host[kind](method, new Uint8Array(IDL.encode([...m.args], args)), caller);
  if (result.reject !== undefined) throw new Error(`${method} rejected: ${result.reject}`);
  return IDL.decode([...m.result], result.reply ?? new Uint8Array());
}

function append(host: IcHost, batch: LedgerEntry[]): ReceiptValue[] {
  const [result] = call(
    host,
    "update",
    "append",
    [batch.map((e) => ({ key: e.key, entry: encodeEntry(e) }))],
    operator,
  ) as [AppendResultValue];
  if (!("ok" in result))
    throw new Error(
      `append refused: ${JSON.stringify(result.err, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
    );
  return result.ok;
}

function tip(host: IcHost): { size: number; root: string } {
  const [t] = call(host, "query", "tip", []) as [{ size: bigint; root: Bytes }];
  return { size: Number(t.size), root: toHex(bytes(t.root)) };
}

function leaves(host: IcHost, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  while (out.length < size) {
    const [page] = call(host, "query", "entries", [BigInt(out.length), BigInt(size - out.length)]) as [
      Array<{ leaf: Bytes }>,
    ];
    if (page.length === 0) throw new Error(`entries stopped at ${out.length} of ${size}`);
    out.push(...page.map((l) => bytes(l.leaf)));
  }
  return out;
}

function proof(
  host: IcHost,
  method: "inclusion_proof" | "consistency_proof",
  a: number,
  b: number,
): string[] {
  const [result] = call(host, "query", method, [BigInt(a), BigInt(b)]) as [{ ok?: Bytes[]; err?: string }];
  if (result.ok === undefined) throw new Error(`${method}(${a}, ${b}): ${result.err}`);
  return result.ok.map((h) => toHex(bytes(h)));
}

const INCLUSION: Array<[number, number]> = [
  [0, 1000],
  [1, 1000],
  [255, 1000],
  [256, 1000],
  [511, 1000],
  [512, 1000],
  [998, 1000],
  [999, 1000],
  [0, 1],
  [6, 7],
  [499, 500],
  [700, 999],
];
const CONSISTENCY: Array<[number, number]> = [
  [1, 1000],
  [2, 1000],
  [255, 1000],
  [256, 1000],
  [500, 1000],
  [999, 1000],
  [100, 500],
  [7, 13],
];

/** Everything a client can observe of the ledger's state. */
function observe(host: IcHost) {
  const t = tip(host);
  const [appenders] = call(host, "query", "appenders", []) as [Principal[]];
  return {
    tip: t,
    leaves: leaves(host, t.size).map(toHex),
    inclusion: INCLUSION.filter(([, n]) => n <= t.size).map(([i, n]) => proof(host, "inclusion_proof", i, n)),
    consistency: CONSISTENCY.filter(([, n]) => n <= t.size).map(([m, n]) =>
      proof(host, "consistency_proof", m, n),
    ),
    appenders: appenders.map((p) => p.toText()),
    certifiedData: toHex(host.certifiedData),
  };
}
type Observed = ReturnType<typeof observe>;

function treeOf(hexLeaves: string[]): MemoryTree {
  const tree = new MemoryTree();
  for (const l of hexLeaves) tree.appendLeafHash(hashLeaf(Buffer.from(l, "hex")));
  return tree;
}

function version(host: IcHost): string {
  const result = host.query("version", noArgs(), controller);
  if (result.reject !== undefined) throw new Error(`version rejected: ${result.reject}`);
  const [v] = IDL.decode([IDL.Text], result.reply ?? new Uint8Array());
  return String(v);
}

const variants = tempDir("modelchain-upgrade-");
const V1 = skip ? new Uint8Array() : (await compileCanister()).wasm;
const V2 = skip
  ? new Uint8Array()
  : (
      await compileCanister({
        sourceDir: variantSource(
          join(variants.dir, "v2"),
          'public query func version() : async Text { "v2" };',
        ),
      })
    ).wasm;
const REFUSING = skip
  ? new Uint8Array()
  : (
      await compileCanister({
        sourceDir: variantSource(
          join(variants.dir, "refusing"),
          'transient let refuse : () = Runtime.trap("this version refuses to start");',
        ),
      })
    ).wasm;
variants.remove();

describe.skipIf(skip)(
  "upgrading the ledger canister (enhanced orthogonal persistence, main memory kept)",
  () => {
    let host: IcHost;
    let first: Observed;

    beforeAll(async () => {
      host = await IcHost.install(
        V1,
        {
          canisterId: "uxrrr-q7777-77774-qaaaq-cai",
          controllers: [controller],
          time: 1_764_000_000_000_000_000n,
        },
        noArgs(),
        controller,
      );
      call(host, "update", "add_appender", [operator]);
      for (let from = 0; from < 1000; from += 250) {
        host.time += 1_000_000_000n;
        append(host, entries(from, 250));
      }
      first = observe(host);
    });

    it("is a module the replica upgrades with main memory kept: 64-bit memory and the enhanced-orthogonal-persistence metadata", () => {
      expect(declaredMemory(V1)).toMatchObject({ memory64: true, max: undefined });
      expect([
        hasMetadata(V1, "enhanced-orthogonal-persistence"),
        hasMetadata(V1, "candid:service"),
        hasMetadata(V1, "no-such-section"),
      ]).toEqual([true, true, false]);
    });

    it("holds 1,000 entries whose tree, proofs and certified data the TypeScript side accepts before any upgrade", () => {
      const tree = treeOf(first.leaves);
      expect(first.tip).toEqual({ size: 1000, root: toHex(tree.root()) });
      INCLUSION.forEach(([i, n], k) =>
        verifyInclusion(
          i,
          n,
          tree.source(0, i),
          (first.inclusion[k] ?? []).map((h) => Buffer.from(h, "hex")),
          tree.root(n),
        ),
      );
      CONSISTENCY.forEach(([m, n], k) =>
        verifyConsistency(
          m,
          n,
          (first.consistency[k] ?? []).map((h) => Buffer.from(h, "hex")),
          tree.root(m),
          tree.root(n),
        ),
      );
      expect(first.appenders).toEqual([operator.toText()]);
      expect(first.certifiedData).toBe(toHex(certifiedTipData(1000, first.tip.root)));
    });

    it("keeps every leaf, proof, the root, the appenders and the certified data across an upgrade to the same module", async () => {
      expect(await host.upgrade(V1, controller, noArgs())).toEqual({});
      expect(observe(host)).toEqual(first);
    });

    it("continues the same tree afterwards: new entries get the next indices, old keys stay duplicates, and the old root is a prefix", () => {
      host.time += 1_000_000_000n;
      const receipts = append(host, [...entries(1000, 100), sampleEntry(5)]);
      expect(receipts.map((r) => [Number(r.index), r.duplicate])).toEqual([
        ...Array.from({ length: 100 }, (_, i) => [1000 + i, false]),
        [5, true],
      ]);
      const now = observe(host);
      const tree = treeOf(now.leaves);
      expect(now.leaves.slice(0, 1000)).toEqual(first.leaves);
      expect(now.tip).toEqual({ size: 1100, root: toHex(tree.root()) });
      expect(receipts.every((r) => toHex(bytes(r.root)) === now.tip.root)).toBe(true);
      verifyConsistency(
        1000,
        1100,
        proof(host, "consistency_proof", 1000, 1100).map((h) => Buffer.from(h, "hex")),
        Buffer.from(first.tip.root, "hex"),
        tree.root(),
      );
      expect(now.certifiedData).toBe(toHex(certifiedTipData(1100, now.tip.root)));
    });

    it("keeps the same state across an upgrade to a module with an added method, which then answers", async () => {
      const before = observe(host);
      expect(() => version(host)).toThrow(/has no method canister_query version/);
      expect(await host.upgrade(V2, controller, noArgs())).toEqual({});
      expect(observe(host)).toEqual(before);
      expect(version(host)).toBe("v2");
      host.time += 1_000_000_000n;
      const [receipt] = append(host, [sampleEntry(1100)]);
      expect([Number(receipt?.index), Number(receipt?.size)]).toEqual([1100, 1101]);
    });

    it("refuses an upgrade that leaves out wasm_memory_persistence, as the replica does for such a canister, and changes nothing", async () => {
      const before = observe(host);
      const result = await host.upgrade(V1, controller, noArgs(), { wasmMemoryPersistence: null });
      expect(result.reject).toMatch(/requires the `wasm_memory_persistence` upgrade option/);
      expect(observe(host)).toEqual(before);
      expect(version(host)).toBe("v2");
    });

    it("refuses an upgrade from a principal that is not a controller", async () => {
      const result = await host.upgrade(V1, operator, noArgs());
      expect(result.reject).toMatch(/Only controllers/);
      expect(version(host)).toBe("v2");
    });

    it("rolls the whole upgrade back when the new version traps while starting, and the old version keeps working", async () => {
      const before = observe(host);
      const result = await host.upgrade(REFUSING, controller, noArgs());
      expect(result.reject).toMatch(/canister_post_upgrade: .*this version refuses to start/);
      expect(observe(host)).toEqual(before);
      expect(version(host)).toBe("v2");
      host.time += 1_000_000_000n;
      const [receipt] = append(host, [sampleEntry(1101)]);
      expect(Number(receipt?.index)).toBe(1101);
    });
  },
);
