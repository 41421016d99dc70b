// Signed notes and checkpoints against published vectors (Go's sumdb/note), then every
// mutation of a valid note, cosignature and consistency claim must fail.
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkExtends,
  checkpointBody,
  COSIGNATURE_V1,
  cosignNote,
  ED25519,
  ForkDetectedError,
  formatNote,
  logVerifier,
  MemoryTree,
  noteVerifier,
  openCheckpointNote,
  parseNote,
  parseVkey,
  signCheckpointNote,
  signNote,
  SignedNoteError,
  toHex,
  verifiedSignature,
  vkeyOf,
  addSignature,
} from "../../src/ledger/index.ts";
import { hashLeaf, consistencyPath } from "../../src/ledger/merkle.ts";

// golang.org/x/mod/sumdb/note's documented example: its key pair and the note it signs.
const PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SEED = Buffer.from("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz", "base64").subarray(1);
const PETER_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE = `${PETER_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const seedKey = (seed: Buffer) =>
  createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });

const ORIGIN = "modelchain.io/ledger/test";

function tree(n: number, salt = "") {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.appendLeafHash(hashLeaf(Buffer.from(`${salt}leaf-${i}`)));
  return t;
}

describe("signed notes (c2sp.org/signed-note)", () => {
  it("opens sumdb/note's published note with its vkey, and signs its text to the same bytes", () => {
    const peter = parseVkey(PETER_VKEY);
    expect(peter).toMatchObject({ name: "PeterNeumann", keyHash: "c74f20a3", type: ED25519 });
    expect(vkeyOf(peter)).toBe(PETER_VKEY);
    const note = parseNote(PETER_NOTE);
    expect(note.body).toBe(PETER_TEXT);
    expect(verifiedSignature(note, peter)).toEqual({ time: 0 });
    const signed = signNote(PETER_TEXT, "PeterNeumann", seedKey(PETER_SEED));
    expect(formatNote({ body: PETER_TEXT, signatures: [signed] })).toBe(PETER_NOTE);
  });

  it("reads a vkey whose key's base64 holds a '+' (transparency-dev/formats' test key)", () => {
    expect(parseVkey("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")).toMatchObject({
      name: "TEST",
      keyHash: "7997405c",
      type: ED25519,
    });
  });

  it("refuses a vkey whose hash, type or length is wrong", () => {
    expect(() => parseVkey(PETER_VKEY.replace("c74f20a3", "c74f20a4"))).toThrow(/key hash c74f20a4 is not/);
    expect(() => parseVkey("PeterNeumann+c74f20a3")).toThrow(SignedNoteError);
    expect(() => parseVkey("PeterNeumann+c74f20a3+AhpclA==")).toThrow(/33 bytes/);
  });

  it("fails every flipped byte of the body and of the signature", () => {
    const peter = parseVkey(PETER_VKEY);
    const note = parseNote(PETER_NOTE);
    for (let i = 0; i < note.body.length; i += 7) {
      const body =
        note.body.slice(0, i) + String.fromCharCode(note.body.charCodeAt(i) ^ 1) + note.body.slice(i + 1);
      expect(() => verifiedSignature({ ...note, body }, peter), `body byte ${i}`).toThrow(/does not verify/);
    }
    const [line] = note.signatures;
    for (let i = 0; i < 64; i++) {
      const signature = Uint8Array.from(line!.signature);
      signature[i] = (signature[i] ?? 0) ^ 0x80;
      expect(() => verifiedSignature({ ...note, signatures: [{ ...line!, signature }] }, peter)).toThrow();
    }
  });

  it("finds no signature by another key, and refuses malformed notes naming the line", () => {
    const other = noteVerifier("PeterNeumann", ED25519, generateKeyPairSync("ed25519").publicKey);
    expect(verifiedSignature(parseNote(PETER_NOTE), other)).toBeUndefined();
    expect(() => parseNote(PETER_TEXT)).toThrow(/no blank line/);
    expect(() => parseNote(`${PETER_TEXT}\n- PeterNeumann abc\n`)).toThrow(/signature line 1/);
  });
});

describe("checkpoints and cosignatures", () => {
  const log = generateKeyPairSync("ed25519");
  const logKey = logVerifier(ORIGIN, log.publicKey);
  const t = tree(7);
  const head = { origin: ORIGIN, size: 7, root: toHex(t.root()) };

  it("writes origin, size and base64 root, and opens only with the log's key and origin", () => {
    const text = signCheckpointNote(head, log.privateKey);
    expect(
      text.startsWith(
        `${ORIGIN}\n7\n${Buffer.from(head.root, "hex").toString("base64")}\n\n\u2014 ${ORIGIN} `,
      ),
    ).toBe(true);
    expect(openCheckpointNote(text, logKey).head).toEqual(head);
    const stranger = logVerifier(ORIGIN, generateKeyPairSync("ed25519").publicKey);
    expect(() => openCheckpointNote(text, stranger)).toThrow(/carries no signature by/);
    expect(() => openCheckpointNote(text, logVerifier("other.example/log", log.publicKey))).toThrow(
      /origin modelchain.io\/ledger\/test is not the log's other.example\/log/,
    );
    const resized = text.replace("\n7\n", "\n8\n");
    expect(() => openCheckpointNote(resized, logKey)).toThrow(/does not verify/);
    expect(() => openCheckpointNote(text.replace("\n7\n", "\n07\n"), logKey)).toThrow(
      /not a decimal tree size/,
    );
  });

  it("co-signs as cosignature/v1 with a timestamp, verified by the witness's type-0x04 key only", () => {
    const witness = generateKeyPairSync("ed25519");
    const w = noteVerifier("witness.example/w1", COSIGNATURE_V1, witness.publicKey);
    const note = parseNote(signCheckpointNote(head, log.privateKey));
    const cosigned = parseNote(
      formatNote(addSignature(note, cosignNote(note.body, w.name, witness.privateKey, 1700000000))),
    );
    expect(cosigned.signatures).toHaveLength(2);
    expect(verifiedSignature(cosigned, w)).toEqual({ time: 1700000000 });
    expect(verifiedSignature(cosigned, logKey)).toEqual({ time: 0 });
    // The same key as a plain note signer has another key hash: the cosignature is not its.
    expect(verifiedSignature(cosigned, noteVerifier(w.name, ED25519, witness.publicKey))).toBeUndefined();
    const line = cosigned.signatures[1]!;
    const restamped = Uint8Array.from(line.signature);
    restamped[7] = (restamped[7] ?? 0) ^ 1;
    expect(() =>
      verifiedSignature({ ...cosigned, signatures: [{ ...line, signature: restamped }] }, w),
    ).toThrow(/cosignature by witness.example\/w1 \([0-9a-f]{8}\) at time 1700000001 does not verify/);
    expect(() => verifiedSignature({ ...cosigned, body: checkpointBody({ ...head, size: 8 }) }, w)).toThrow();
  });

  it("accepts a consistency proof between two heads and reports a fork with both heads otherwise", () => {
    const older = { origin: ORIGIN, size: 4, root: toHex(t.root(4)) };
    const proof = consistencyPath(t.source, 4, 7).map(toHex);
    expect(() => checkExtends(older, head, proof)).not.toThrow();
    const forged = tree(7, "forged-");
    const other = { origin: ORIGIN, size: 7, root: toHex(forged.root()) };
    const forgedProof = consistencyPath(forged.source, 4, 7).map(toHex);
    const fork = (() => {
      try {
        checkExtends(older, other, forgedProof);
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();
    expect(fork).toBeInstanceOf(ForkDetectedError);
    expect((fork as Error).message).toContain(`size 4 root ${older.root}`);
    expect((fork as Error).message).toContain(`size 7 root ${other.root}`);
    expect(() => checkExtends(head, older, [])).toThrow(/the newer tree is smaller/);
    expect(() => checkExtends(head, other, [])).toThrow(/same size, different roots/);
    for (let i = 0; i < proof.length; i++) {
      const bad = [...proof];
      bad[i] = bad[i]!.replace(/^./, (c) => (c === "0" ? "1" : "0"));
      expect(() => checkExtends(older, head, bad), `proof[${i}] flipped`).toThrow(ForkDetectedError);
    }
    expect(() => checkExtends(older, head, proof.slice(1))).toThrow(ForkDetectedError);
    expect(() => checkExtends(older, head, [...proof, proof[0]!])).toThrow(ForkDetectedError);
  });
});
