// Writes rfc6962.json: the RFC 6962 test tree (leaves from transparency-dev/merkle's
// testonly data), its roots for sizes 0..8, every inclusion and consistency proof in it,
// computed here with node:crypto straight from the RFC's recursive definitions, and checked
// against the values transparency-dev/merkle publishes before anything is written; and the
// proofs its reference verifier is tested on (`reference`).
// Run: node test/vectors/gen-rfc6962.ts
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const sha = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHash = (d: Uint8Array): Buffer => sha(Buffer.of(0), d);
const nodeHash = (l: Uint8Array, r: Uint8Array): Buffer => sha(Buffer.of(1), l, r);
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
const mth = (d: Uint8Array[]): Buffer => {
  if (d.length === 0) return sha();
  if (d.length === 1) return leafHash(d[0] ?? new Uint8Array());
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
};
// RFC 6962 §2.1.1 PATH(m, D[n]).
const path = (m: number, d: Uint8Array[]): Buffer[] => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k
    ? [...path(m, d.slice(0, k)), mth(d.slice(k))]
    : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
// RFC 6962 §2.1.2 SUBPROOF(m, D[n], b).
const subproof = (m: number, d: Uint8Array[], b: boolean): Buffer[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k
    ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};

const LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
// Published by transparency-dev/merkle (testonly), used as data to check the computation.
const PUBLISHED_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const PUBLISHED_INCLUSION: Record<string, string[]> = {
  "0/8": [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
  "5/8": [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ],
};
const PUBLISHED_CONSISTENCY: Record<string, string[]> = {
  "2/8": [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
  "6/8": [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ],
  "2/5": [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  ],
};

// The vectors transparency-dev/merkle's verifier is tested on (cmd/proofgen: its inclusion and
// consistency test vectors, with 1-based leaf indexes there, 0-based here); the verifier tests
// derive their corrupted variants from these.
const REFERENCE_INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 8, proof: PUBLISHED_INCLUSION["0/8"] ?? [] },
  { index: 5, size: 8, proof: PUBLISHED_INCLUSION["5/8"] ?? [] },
  { index: 2, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];
const REFERENCE_CONSISTENCY: { from: number; to: number; proof: string[] }[] = [
  { from: 1, to: 1, proof: [] },
  {
    from: 1,
    to: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  { from: 6, to: 8, proof: PUBLISHED_CONSISTENCY["6/8"] ?? [] },
  { from: 2, to: 5, proof: PUBLISHED_CONSISTENCY["2/5"] ?? [] },
  {
    from: 6,
    to: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

const data = LEAVES.map((h) => Buffer.from(h, "hex"));
const hex = (b: Buffer[]): string[] => b.map((x) => x.toString("hex"));
const roots = Array.from({ length: data.length + 1 }, (_, n) => mth(data.slice(0, n)).toString("hex"));
const inclusion: { index: number; size: number; proof: string[] }[] = [];
const consistency: { from: number; to: number; proof: string[] }[] = [];
for (let size = 1; size <= data.length; size++) {
  for (let index = 0; index < size; index++)
    inclusion.push({ index, size, proof: hex(path(index, data.slice(0, size))) });
  for (let from = 1; from <= size; from++)
    consistency.push({ from, to: size, proof: hex(subproof(from, data.slice(0, size), true)) });
}

const mismatch: string[] = [];
roots.forEach((r, n) => {
  if (r !== PUBLISHED_ROOTS[n]) mismatch.push(`root of size ${n}`);
});
for (const [k, want] of Object.entries(PUBLISHED_INCLUSION)) {
  const got = inclusion.find((v) => `${v.index}/${v.size}` === k);
  if (JSON.stringify(got?.proof) !== JSON.stringify(want)) mismatch.push(`inclusion ${k}`);
}
for (const [k, want] of Object.entries(PUBLISHED_CONSISTENCY)) {
  const got = consistency.find((v) => `${v.from}/${v.to}` === k);
  if (JSON.stringify(got?.proof) !== JSON.stringify(want)) mismatch.push(`consistency ${k}`);
}
for (const want of REFERENCE_INCLUSION) {
  const got = inclusion.find((v) => v.index === want.index && v.size === want.size);
  if (JSON.stringify(got?.proof) !== JSON.stringify(want.proof))
    mismatch.push(`reference inclusion ${want.index}/${want.size}`);
}
for (const want of REFERENCE_CONSISTENCY) {
  const got = consistency.find((v) => v.from === want.from && v.to === want.to);
  if (JSON.stringify(got?.proof) !== JSON.stringify(want.proof))
    mismatch.push(`reference consistency ${want.from}/${want.to}`);
}
if (mismatch.length > 0)
  throw new Error(`computed vectors disagree with the published ones: ${mismatch.join(", ")}`);

const out = {
  description:
    "RFC 6962 §2.1 test tree (leaves from transparency-dev/merkle testonly). Hashes are hex; leaves are hex data (before the 0x00 prefix); proofs are leaf-side first. Generated by gen-rfc6962.ts and checked against the published roots and proofs.",
  leaves: LEAVES,
  leafHashes: hex(data.map(leafHash)),
  roots,
  inclusion,
  consistency,
  reference: { inclusion: REFERENCE_INCLUSION, consistency: REFERENCE_CONSISTENCY },
};
const file = join(dirname(fileURLToPath(import.meta.url)), "rfc6962.json");
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `wrote ${file}: ${roots.length} roots, ${inclusion.length} inclusion and ${consistency.length} consistency proofs`,
);
