// IC certificates made in the test, signed with a generated BLS12-381 key in the IC's scheme
// (min-sig: signatures in G1, public keys in G2, message "\x0dic-state-root" ‖ tree root).
import { bls12_381 } from "@noble/curves/bls12-381";
import { Cbor, reconstruct, NodeType, type HashTree, type NodeLabel, type NodeValue } from "@dfinity/agent";
import { Principal } from "@dfinity/principal";

const DER_PREFIX = Buffer.from(
  "308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100",
  "hex",
);
// The hash-tree types brand their byte arrays; these are the only places that make them.
const label = (s: string | Uint8Array) =>
  (typeof s === "string" ? new TextEncoder().encode(s) : s) as NodeLabel;

export interface TestRootKey {
  secret: Uint8Array;
  der: Uint8Array;
}

export function rootKey(): TestRootKey {
  const secret = bls12_381.utils.randomPrivateKey();
  const publicKey = bls12_381.getPublicKeyForShortSignatures(secret);
  return { secret, der: new Uint8Array(Buffer.concat([DER_PREFIX, Buffer.from(publicKey)])) };
}

function leb128(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

const leaf = (v: Uint8Array): HashTree => [NodeType.Leaf, v as NodeValue];
const labeled = (l: string | Uint8Array, t: HashTree): HashTree => [NodeType.Labeled, label(l), t];
const fork = (a: HashTree, b: HashTree): HashTree => [NodeType.Fork, a, b];

export { leaf, labeled, fork, leb128 };

/** A certificate over any hash tree, signed by the root key (no delegation). */
export async function signTree(tree: HashTree, key: TestRootKey): Promise<Uint8Array> {
  const message = Buffer.concat([
    Buffer.from([13]),
    Buffer.from("ic-state-root"),
    Buffer.from(await reconstruct(tree)),
  ]);
  return Cbor.encode({ tree, signature: bls12_381.signShortSignature(message, key.secret) });
}

export const timeNode = (time: Date | bigint): HashTree =>
  labeled("time", leaf(leb128(typeof time === "bigint" ? time : BigInt(time.getTime()) * 1_000_000n)));

export const certifiedDataNode = (canisterId: string, data: Uint8Array): HashTree =>
  labeled(
    "canister",
    labeled(Principal.fromText(canisterId).toUint8Array(), labeled("certified_data", leaf(data))),
  );

export async function certificate(o: {
  key: TestRootKey;
  canisterId: string;
  certifiedData: Uint8Array;
  time: Date | bigint;
}): Promise<Uint8Array> {
  return signTree(fork(certifiedDataNode(o.canisterId, o.certifiedData), timeNode(o.time)), o.key);
}
