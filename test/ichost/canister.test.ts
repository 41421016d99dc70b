import { beforeAll, describe, expect, it } from "vitest";
import { compileCanister } from "../canister/compile.ts";
import { IDL } from "@dfinity/candid";

import { Ed25519KeyIdentity } from "@dfinity/identity";
import { IcHost } from "./host.ts";
import { importSignatures } from "./wasm-types.ts";
import { METHODS, type AppendResultValue } from "../../src/ledger/ic/idl.ts";
import {
  encodeEntry,
  hashLeaf,
  MemoryTree,
  toHex,
  verifyInclusion,
  verifyConsistency,
} from "../../src/ledger/index.ts";
import { certifiedTipData, verifyCertifiedTip } from "../../src/ledger/ic/certificate.ts";
import { entries, sampleEntry } from "../ledger/fixtures.ts";
import { certificate, rootKey } from "../ledger/ic/certificates.ts";

const nodeMajor = Number(process.versions.node.split(".")[0]);
const skip = nodeMajor < 24;
if (skip)
  console.log(
    `SKIP IC host suite: the canister is wasm64, which needs Node 24 (this is Node ${process.versions.node})`,
  );
// The real canister, compiled from canister/src by the motoko package (cached by source hash).
const WASM = skip ? new Uint8Array() : (await compileCanister()).wasm;

type Method = keyof typeof METHODS;
const controller = Ed25519KeyIdentity.generate().getPrincipal();
const stranger = Ed25519KeyIdentity.generate().getPrincipal();

function call(
  host: IcHost,
  kind: "update" | "query",
  method: Method,
  args: unknown[],
  caller = controller,
): unknown[] {
  const m = METHODS[method];
  const arg = new Uint8Array(IDL.encode([...m.args], args));
  const result = host[kind](method, arg, caller);
  if (result.reject !== undefined) throw new Error(`${method} rejected: ${result.reject}`);
  if (result.reply === undefined) throw new Error(`${method} did not reply`);
  return IDL.decode([...m.result], result.reply);
}

const bytes = (v: Uint8Array | number[]) => Uint8Array.from(v);

describe.skipIf(skip)("the compiled ledger canister on the IC system-API host", () => {
  let host: IcHost;
  beforeAll(async () => {
    host = await IcHost.install(
      WASM,
      {
        canisterId: "uxrrr-q7777-77774-qaaaq-cai",
        controllers: [controller],
        time: 1_764_000_000_000_000_000n,
      },
      new Uint8Array(IDL.encode([], [])),
      controller,
    );
  });

  it("is given every ic0 import the canister asks for", () => {
    const wanted = [...importSignatures(WASM).keys()];
    expect(wanted.length).toBeGreaterThan(20);
    expect(wanted.every((name) => name.startsWith("ic0."))).toBe(true);
  });

  it("appends a batch from a controller and returns receipts whose root matches the TypeScript tree", () => {
    const batch = entries(0, 5).map((e) => ({ key: e.key, entry: encodeEntry(e) }));
    const [result] = call(host, "update", "append", [batch]) as [AppendResultValue];
    expect("ok" in result).toBe(true);
    if (!("ok" in result)) return;
    expect(result.ok.map((r) => Number(r.index))).toEqual([0, 1, 2, 3, 4]);
    const [leaves] = call(host, "query", "entries", [0n, 10n]) as [
      Array<{ index: bigint; leaf: Uint8Array | number[] }>,
    ];
    const tree = new MemoryTree();
    for (const l of leaves) tree.appendLeafHash(hashLeaf(bytes(l.leaf)));
    expect(toHex(bytes(result.ok[4]?.root ?? []))).toBe(toHex(tree.root()));
    const envelope = JSON.parse(new TextDecoder().decode(bytes(leaves[0]?.leaf ?? [])));
    expect(envelope).toMatchObject({
      entry: entries(0, 1)[0],
      recordedAt: "1764000000000000000",
      recordedBy: controller.toText(),
    });
  });

  it("returns the first receipt for a key it already holds", () => {
    const [again] = call(host, "update", "append", [
      [{ key: "key-2", entry: encodeEntry(sampleEntry(2)) }],
    ]) as [AppendResultValue];
    expect("ok" in again && again.ok[0]).toMatchObject({ index: 2n, duplicate: true });
  });

  it("refuses appends from a principal that is not an appender", () => {
    const [result] = call(
      host,
      "update",
      "append",
      [[{ key: "x-1", entry: encodeEntry({ ...sampleEntry(9), key: "x-1" }) }]],
      stranger,
    ) as [AppendResultValue];
    expect("err" in result && Object.keys(result.err)).toEqual(["unauthorized"]);
  });

  it("serves proofs the TypeScript verifier accepts", () => {
    const [tip] = call(host, "query", "tip", []) as [{ size: bigint; root: Uint8Array | number[] }];
    const size = Number(tip.size);
    const root = bytes(tip.root);
    const [leaves] = call(host, "query", "entries", [0n, BigInt(size)]) as [
      Array<{ leaf: Uint8Array | number[] }>,
    ];
    for (let index = 0; index < size; index++) {
      const [proof] = call(host, "query", "inclusion_proof", [BigInt(index), BigInt(size)]) as [
        { ok?: Array<Uint8Array | number[]> },
      ];
      verifyInclusion(
        index,
        size,
        hashLeaf(bytes(leaves[index]?.leaf ?? [])),
        (proof.ok ?? []).map(bytes),
        root,
      );
    }
    const [consistency] = call(host, "query", "consistency_proof", [2n, BigInt(size)]) as [
      { ok?: Array<Uint8Array | number[]> },
    ];
    const tree = new MemoryTree();
    for (const l of leaves) tree.appendLeafHash(hashLeaf(bytes(l.leaf)));
    verifyConsistency(2, size, (consistency.ok ?? []).map(bytes), tree.root(2), root);
    expect(toHex(root)).toBe(toHex(tree.root()));
  });

  it("certifies SHA-256(u64be(size) ‖ root), so a certificate over it proves the tip to the ic backend's verifier", async () => {
    const [tip] = call(host, "query", "tip", []) as [{ size: bigint; root: Uint8Array | number[] }];
    const size = Number(tip.size);
    const root = toHex(bytes(tip.root));
    expect(toHex(host.certifiedData)).toBe(toHex(certifiedTipData(size, root)));
    const key = rootKey();
    const now = new Date(Number(host.time / 1_000_000n));
    host.certificate = await certificate({
      key,
      canisterId: host.canisterId.toText(),
      certifiedData: host.certifiedData,
      time: now,
    });
    const [certified] = call(host, "query", "tip", []) as [{ certificate: [] | [Uint8Array | number[]] }];
    const served = certified.certificate[0];
    expect(served).toBeDefined();
    await expect(
      verifyCertifiedTip({
        certificate: bytes(served ?? []),
        rootKey: key.der,
        canisterId: host.canisterId.toText(),
        size,
        root,
        now,
      }),
    ).resolves.toMatchObject({ time: now });
    await expect(
      verifyCertifiedTip({
        certificate: bytes(served ?? []),
        rootKey: key.der,
        canisterId: host.canisterId.toText(),
        size: size + 1,
        root,
        now,
      }),
    ).rejects.toThrow(/certified data/);
  });

  it("refuses a batch over the 2 MiB ingress limit with a clear error, and records nothing", () => {
    const [before] = call(host, "query", "tip", []) as [{ size: bigint }];
    const big = Array.from({ length: 3 }, (_, i) => ({
      key: `big-${i}`,
      entry: encodeEntry({ ...sampleEntry(100 + i), key: `big-${i}`, data: { blob: "x".repeat(800_000) } }),
    }));
    const [result] = call(host, "update", "append", [big]) as [AppendResultValue];
    expect("err" in result && result.err).toMatchObject({ batch_too_large: { limit: 2_097_152n } });
    const [after] = call(host, "query", "tip", []) as [{ size: bigint }];
    expect(after.size).toBe(before.size);
  });
});
