import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { Secp256k1KeyIdentity } from "@dfinity/identity-secp256k1";
import { identityFromPem, IdentityPemError } from "../../../src/ledger/ic/identity.ts";

const pkcs8 = (type: "ed25519" | "ec", curve?: string) => {
  const { privateKey, publicKey } =
    type === "ec"
      ? generateKeyPairSync("ec", { namedCurve: curve ?? "secp256k1" })
      : generateKeyPairSync("ed25519");
  return { privateKey, publicKey };
};

describe("identity from a PEM", () => {
  it("reads an ed25519 PKCS#8 key (dfx's format) into the identity with the same public key", () => {
    const { privateKey, publicKey } = pkcs8("ed25519");
    const identity = identityFromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
    expect(identity.getPrincipal().toText()).toBe(
      Ed25519KeyIdentity.fromKeyPair(new Uint8Array(raw), new Uint8Array(64)).getPrincipal().toText(),
    );
  });

  it("reads a secp256k1 SEC1 key as the library's own PEM reader does", () => {
    const { privateKey } = pkcs8("ec");
    const pem = privateKey.export({ type: "sec1", format: "pem" }).toString();
    expect(identityFromPem(pem).getPrincipal().toText()).toBe(
      Secp256k1KeyIdentity.fromPem(pem).getPrincipal().toText(),
    );
    const asPkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(identityFromPem(asPkcs8).getPrincipal().toText()).toBe(
      Secp256k1KeyIdentity.fromPem(pem).getPrincipal().toText(),
    );
  });

  it("refuses other curves, other key types, public keys and garbage, saying what it got", () => {
    expect(() =>
      identityFromPem(
        pkcs8("ec", "prime256v1").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      ),
    ).toThrow(/curve prime256v1/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    expect(() => identityFromPem(rsa)).toThrow(/rsa keys cannot sign IC calls/);
    expect(() =>
      identityFromPem(pkcs8("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString()),
    ).toThrow(IdentityPemError);
    expect(() => identityFromPem("not a pem")).toThrow(/not a private key PEM/);
  });
});
