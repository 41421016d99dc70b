// The ic backend never trusts an unproven tip: the canister sets its certified data to
// SHA-256(u64be(size) ‖ root) on every append, and a query's certificate — signed by the
// subnet's threshold BLS key, checked here against the IC root key — proves that value.
import { Certificate, lookupResultToBuffer } from "@dfinity/agent";
import { Principal } from "@dfinity/principal";
import { LedgerError } from "../errors.ts";
import { hashFromHex, sameHash, sha256, toHex } from "../hash.ts";

/** What the canister certifies for a tree head. */
export function certifiedTipData(size: number, rootHex: string): Uint8Array {
  const sizeBytes = new Uint8Array(8);
  new DataView(sizeBytes.buffer).setBigUint64(0, BigInt(size));
  return sha256(sizeBytes, hashFromHex(rootHex, "root"));
}

export class CertificateRejected extends LedgerError {
  constructor(message: string, options?: ErrorOptions) {
    super(`ic certificate: ${message}`, options);
    this.name = "CertificateRejected";
  }
}

export interface CertifiedTip {
  certificate: Uint8Array;
  /** DER-encoded BLS12-381 root key: the IC's, or a local replica's when configured. */
  rootKey: Uint8Array;
  canisterId: string;
  size: number;
  root: string;
  /** How old the certificate may be (default five minutes). */
  maxAgeMs?: number;
  now?: Date;
}

function decodeLeb128(bytes: Uint8Array): bigint {
  let value = 0n;
  let shift = 0n;
  for (const byte of bytes) {
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7n;
  }
  return value;
}

/**
 * Verifies that a certificate proves the tip (size, root) of canister `canisterId`:
 * signature (via @dfinity/agent's Certificate), certified data, and freshness. Returns the
 * certificate's time; throws CertificateRejected naming what failed.
 */
export async function verifyCertifiedTip(tip: CertifiedTip): Promise<{ time: Date }> {
  let principal: Principal;
  try {
    principal = Principal.fromText(tip.canisterId);
  } catch (e: unknown) {
    throw new CertificateRejected(`canister id ${JSON.stringify(tip.canisterId)} is not a principal`, {
      cause: e,
    });
  }
  let cert: Certificate;
  try {
    cert = await Certificate.create({
      certificate: tip.certificate,
      rootKey: tip.rootKey,
      canisterId: principal,
      disableTimeVerification: true,
    });
  } catch (e: unknown) {
    throw new CertificateRejected(
      `it does not verify for canister ${tip.canisterId} under the root key: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const data = lookupResultToBuffer(
    cert.lookup_path(["canister", principal.toUint8Array(), "certified_data"]),
  );
  if (data === undefined)
    throw new CertificateRejected(`it certifies no data for canister ${tip.canisterId}`);
  const expected = certifiedTipData(tip.size, tip.root);
  if (!sameHash(data, expected)) {
    throw new CertificateRejected(
      `certified data ${toHex(data)} is not SHA-256(size ${tip.size} ‖ root ${tip.root}) = ${toHex(expected)}`,
    );
  }
  const timeBytes = lookupResultToBuffer(cert.lookup_path(["time"]));
  if (timeBytes === undefined) throw new CertificateRejected("it has no time");
  const time = new Date(Number(decodeLeb128(timeBytes) / 1_000_000n));
  const age = (tip.now ?? new Date()).getTime() - time.getTime();
  const maxAge = tip.maxAgeMs ?? 5 * 60_000;
  if (age > maxAge)
    throw new CertificateRejected(
      `it is ${Math.round(age / 1000)} s old, more than the ${Math.round(maxAge / 1000)} s allowed`,
    );
  return { time };
}
