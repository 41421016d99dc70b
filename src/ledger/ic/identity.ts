// The identity that signs calls to the ledger canister, from a PEM file: what `dfx identity
// export` writes (ed25519 PKCS#8 "PRIVATE KEY", or secp256k1 SEC1 "EC PRIVATE KEY"), and what
// the Helm chart mounts from a Kubernetes Secret.
import { createPrivateKey, type KeyObject } from "node:crypto";
import type { SignIdentity } from "@dfinity/agent";
import { Ed25519KeyIdentity } from "@dfinity/identity";
import { Secp256k1KeyIdentity } from "@dfinity/identity-secp256k1";
import { LedgerError } from "../errors.ts";

export class IdentityPemError extends LedgerError {
  constructor(problem: string, options?: ErrorOptions) {
    super(`ic identity: ${problem}`, options);
    this.name = "IdentityPemError";
  }
}

function secretScalar(key: KeyObject, length: number): Uint8Array {
  const d = key.export({ format: "jwk" }).d;
  if (d === undefined) throw new IdentityPemError("the PEM holds no private key");
  const bytes = new Uint8Array(Buffer.from(d, "base64url"));
  if (bytes.byteLength > length)
    throw new IdentityPemError(`private key is ${bytes.byteLength} bytes, want ${length}`);
  const padded = new Uint8Array(length);
  padded.set(bytes, length - bytes.byteLength);
  return padded;
}

/** Reads an ed25519 or secp256k1 private key PEM into an agent identity. */
export function identityFromPem(pem: string): SignIdentity {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (e: unknown) {
    throw new IdentityPemError(`not a private key PEM (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  if (key.asymmetricKeyType === "ed25519") return Ed25519KeyIdentity.fromSecretKey(secretScalar(key, 32));
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== "secp256k1")
      throw new IdentityPemError(
        `EC key on curve ${curve ?? "unknown"}; the IC accepts secp256k1 (or ed25519)`,
      );
    return Secp256k1KeyIdentity.fromSecretKey(secretScalar(key, 32));
  }
  throw new IdentityPemError(
    `${key.asymmetricKeyType ?? "unknown"} keys cannot sign IC calls; use ed25519 or secp256k1`,
  );
}
