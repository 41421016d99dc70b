// Writes sha256.json: the NIST FIPS 180-4 (and FIPS 180-2 appendix) SHA-256 examples, each
// digest checked against node:crypto before anything is written.
// Run: node test/vectors/gen-sha256.ts
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cases = [
  {
    name: "empty",
    text: "",
    repeat: 1,
    digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  },
  {
    name: "abc (one block)",
    text: "abc",
    repeat: 1,
    digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    name: "448-bit message (two blocks)",
    text: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    repeat: 1,
    digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  },
  {
    name: "896-bit message",
    text: "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
    repeat: 1,
    digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  },
  {
    name: "one million 'a'",
    text: "a",
    repeat: 1_000_000,
    digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  },
];
for (const c of cases) {
  const got = createHash("sha256").update(c.text.repeat(c.repeat)).digest("hex");
  if (got !== c.digest) throw new Error(`${c.name}: node:crypto gives ${got}, FIPS 180-4 says ${c.digest}`);
}
const file = join(dirname(fileURLToPath(import.meta.url)), "sha256.json");
writeFileSync(
  file,
  `${JSON.stringify({ description: "SHA-256 examples from NIST FIPS 180-4; message = text repeated `repeat` times, UTF-8 (ASCII).", cases }, null, 2)}\n`,
);
console.log(`wrote ${file}: ${cases.length} cases`);
