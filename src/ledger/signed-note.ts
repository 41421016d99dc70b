// C2SP signed notes (c2sp.org/signed-note), the checkpoints written in them
// (c2sp.org/tlog-checkpoint) and witness cosignatures (c2sp.org/tlog-cosignature), so that the
// witness and verifier tools of transparency-dev, Sigsum and the Go checksum database can read
// the file ledger's tree heads. A note is a UTF-8 body ending in a newline, a blank line, then
// one line per signature: "— <key name> base64(4-byte key hash ‖ signature)".
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { LedgerError } from "./errors.ts";
import { sha256, toHex } from "./hash.ts";

/** Signature types of the note spec: a plain ed25519 note signature, and a timestamped cosignature/v1. */
export const ED25519 = 0x01;
export const COSIGNATURE_V1 = 0x04;
type SignatureType = typeof ED25519 | typeof COSIGNATURE_V1;

const DASH = "\u2014 ";

export class SignedNoteError extends LedgerError {
  constructor(message: string) {
    super(`signed note: ${message}`, { permanent: true });
    this.name = "SignedNoteError";
  }
}

export interface NoteSignature {
  name: string;
  /** Hex of the 4-byte key hash. */
  keyHash: string;
  /** What follows the key hash: the ed25519 signature, or timestamp ‖ signature for a cosignature. */
  signature: Uint8Array;
}

export interface Note {
  body: string;
  signatures: NoteSignature[];
}

/** A named ed25519 key of one signature type, as a vkey names it. */
export interface NoteVerifier {
  name: string;
  type: SignatureType;
  keyHash: string;
  publicKey: KeyObject;
}

export function rawPublicKey(key: KeyObject): Uint8Array {
  const jwk = (key.type === "public" ? key : createPublicKey(key)).export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string")
    throw new SignedNoteError("key is not an ed25519 key");
  return new Uint8Array(Buffer.from(jwk.x, "base64url"));
}

function checkName(name: string): void {
  if (name.length === 0 || /[\s+]/.test(name))
    throw new SignedNoteError(`key name ${JSON.stringify(name)} must be non-empty, without spaces or "+"`);
}

/** SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4], as the note spec derives a key's id. */
export function noteKeyHash(name: string, type: SignatureType, publicKey: KeyObject): string {
  const digest = sha256(Buffer.from(`${name}\n`), Uint8Array.of(type), rawPublicKey(publicKey));
  return toHex(digest.subarray(0, 4));
}

export function noteVerifier(name: string, type: SignatureType, publicKey: KeyObject): NoteVerifier {
  checkName(name);
  return { name, type, publicKey, keyHash: noteKeyHash(name, type, publicKey) };
}

/** The vkey text of a verifier: "<name>+<key hash hex>+base64(type ‖ public key)". */
export function vkeyOf(v: NoteVerifier): string {
  const material = Buffer.concat([Uint8Array.of(v.type), rawPublicKey(v.publicKey)]).toString("base64");
  return `${v.name}+${v.keyHash}+${material}`;
}

export function parseVkey(vkey: string): NoteVerifier {
  // Names and key hashes hold no "+"; the base64 of the key may.
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  const [, name, keyHash, material] = match ?? [];
  if (name === undefined || keyHash === undefined || material === undefined)
    throw new SignedNoteError(`vkey ${JSON.stringify(vkey)} is not <name>+<key hash>+<key>`);
  const bytes = Buffer.from(material, "base64");
  const type = bytes[0];
  if (bytes.byteLength !== 33 || (type !== ED25519 && type !== COSIGNATURE_V1))
    throw new SignedNoteError(`vkey ${name}: want an ed25519 key of type 0x01 or 0x04 (33 bytes)`);
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: bytes.subarray(1).toString("base64url") },
    format: "jwk",
  });
  const verifier = noteVerifier(name, type, publicKey);
  if (verifier.keyHash !== keyHash)
    throw new SignedNoteError(`vkey ${name}: key hash ${keyHash} is not the key's ${verifier.keyHash}`);
  return verifier;
}

export function parseNote(text: string): Note {
  const split = text.lastIndexOf("\n\n");
  if (split < 0 || !text.endsWith("\n")) throw new SignedNoteError("no blank line before the signatures");
  const body = text.slice(0, split + 1);
  const lines = text.slice(split + 2, -1).split("\n");
  const signatures = lines.map((line, i) => {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    const bytes = match === null ? undefined : Buffer.from(match[2] ?? "", "base64");
    if (match === null || bytes === undefined || bytes.byteLength < 5)
      throw new SignedNoteError(`signature line ${i + 1} is not "— <name> <base64>"`);
    return {
      name: match[1] ?? "",
      keyHash: bytes.subarray(0, 4).toString("hex"),
      signature: bytes.subarray(4),
    };
  });
  return { body, signatures };
}

export function formatNote(note: Note): string {
  const lines = note.signatures.map(
    (s) =>
      `${DASH}${s.name} ${Buffer.concat([Buffer.from(s.keyHash, "hex"), s.signature]).toString("base64")}\n`,
  );
  return `${note.body}\n${lines.join("")}`;
}

/** Adds the signer's line, replacing an earlier line by the same key. */
export function addSignature(note: Note, signature: NoteSignature): Note {
  const others = note.signatures.filter((s) => s.name !== signature.name || s.keyHash !== signature.keyHash);
  return { body: note.body, signatures: [...others, signature] };
}

export function signNote(body: string, name: string, privateKey: KeyObject): NoteSignature {
  const signer = noteVerifier(name, ED25519, createPublicKey(privateKey));
  const signature = new Uint8Array(sign(null, Buffer.from(body), privateKey));
  return { name, keyHash: signer.keyHash, signature };
}

function cosignedMessage(body: string, time: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${body}`);
}

export function cosignNote(body: string, name: string, privateKey: KeyObject, time: number): NoteSignature {
  const signer = noteVerifier(name, COSIGNATURE_V1, createPublicKey(privateKey));
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(time));
  const signature = sign(null, cosignedMessage(body, time), privateKey);
  return { name, keyHash: signer.keyHash, signature: new Uint8Array(Buffer.concat([stamp, signature])) };
}

/**
 * The verifier's line on the note, checked; undefined when the note carries no line by it.
 * A cosignature gives its time (seconds since the epoch), a plain signature time 0.
 */
export function verifiedSignature(note: Note, v: NoteVerifier): { time: number } | undefined {
  const line = note.signatures.find((s) => s.name === v.name && s.keyHash === v.keyHash);
  if (line === undefined) return undefined;
  if (v.type === ED25519) {
    if (!verify(null, Buffer.from(note.body), v.publicKey, line.signature))
      throw new SignedNoteError(`signature by ${v.name} (${v.keyHash}) does not verify`);
    return { time: 0 };
  }
  if (line.signature.byteLength !== 72)
    throw new SignedNoteError(`cosignature by ${v.name} is ${line.signature.byteLength} bytes, want 72`);
  const time = Number(Buffer.from(line.signature.subarray(0, 8)).readBigUInt64BE());
  if (!verify(null, cosignedMessage(note.body, time), v.publicKey, line.signature.subarray(8)))
    throw new SignedNoteError(`cosignature by ${v.name} (${v.keyHash}) at time ${time} does not verify`);
  return { time };
}

/** An ed25519 private key from PEM, named errors for anything else. */
export function ed25519PrivateKey(pem: string | Buffer, what: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e: unknown) {
    throw new SignedNoteError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new SignedNoteError(`${what}: not an ed25519 key`);
  return key;
}
