// Whether an OMS bundle's signature verifies under a policy's trust roots, with @sigstore/verify.
//
// model-signing writes two kinds of bundles that carry neither a transparency log entry nor a
// timestamp: `sign key` (verificationMaterial.publicKey, a hint only) and `sign certificate`
// (an X.509 chain). sigstore-js verifies a supplied key when its thresholds for tlog entries,
// SCTs and timestamps are zero and its key finder returns the trusted key. A certificate it
// checks at the bundle's verified timestamps; with none, the only honest time is the time of
// admission, so the chain is checked then (by sigstore-js's chain verifier) and the signature
// with the leaf's key. Keyless bundles that do carry tlog entries or timestamps go through the
// full Verifier, with one tlog entry / SCT required whenever the trusted root lists such logs.
import { X509Certificate as NodeX509 } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { crypto as sigstoreCrypto, dsse, type X509Certificate } from "@sigstore/core";
import type { Envelope } from "@sigstore/bundle";
import { PolicyError, Verifier, VerificationError, toSignedEntity } from "@sigstore/verify";
import type { SignedEntity, TrustMaterial, VerifierOptions } from "@sigstore/verify";
import { CertificateChainVerifier } from "@sigstore/verify/dist/key/certificate.js";
import type { CompiledRoot, IdentityMatcher } from "./oms-roots.ts";
import type { OmsBundle } from "./oms-bundle.ts";

export type SignerCheck =
  | {
      ok: true;
      signer: string;
      /** When the verdict rests on the certificate's validity now. */ validUntil?: Date;
    }
  | { ok: false; reasons: string[] };

const NO_LOGS: VerifierOptions = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
const OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";

function message(e: unknown): string {
  if (e instanceof VerificationError || e instanceof PolicyError) {
    const cause: unknown = e.cause;
    return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

function withKey(key: KeyObject): TrustMaterial {
  return {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
}

/** The bundle as sigstore-js verifies it, with the envelope for the digests it does not pick. */
type Signed = SignedEntity & { envelope: Envelope };

/**
 * sigstore-js verifies a DSSE signature with the key type's default digest, SHA-256; model-signing
 * (like Sigstore's key details) hashes with SHA-384 for P-384 and SHA-512 for P-521 keys, so
 * for those the PAE is verified with @sigstore/core under the curve's digest.
 */
const CURVE_DIGEST: Readonly<Record<string, string>> = { secp384r1: "sha384", secp521r1: "sha512" };

/** The DSSE signature (over the PAE of the payload), checked by sigstore-js with a trusted key. */
function signatureVerifies(entity: Signed, key: KeyObject): boolean {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const digest = key.asymmetricKeyType === "ec" && curve !== undefined ? CURVE_DIGEST[curve] : undefined;
  if (digest !== undefined) {
    const { payloadType, payload, signatures } = entity.envelope;
    const sig = signatures[0]?.sig;
    return (
      sig !== undefined && sigstoreCrypto.verify(dsse.preAuthEncoding(payloadType, payload), key, sig, digest)
    );
  }
  try {
    new Verifier(withKey(key), NO_LOGS).verify({ ...entity, key: { $case: "public-key", hint: "" } });
    return true;
  } catch (e: unknown) {
    if (e instanceof VerificationError && e.code === "SIGNATURE_ERROR") return false;
    throw e;
  }
}

function byKey(entity: Signed, hint: string, roots: readonly CompiledRoot[]): SignerCheck {
  const keys = roots.flatMap((r) => (r.type === "publicKey" ? [r] : []));
  if (keys.length === 0)
    return {
      ok: false,
      reasons: [`is signed with a public key (hint ${hint}) and the policy has no publicKey trust root`],
    };
  const root = keys.find((r) => signatureVerifies(entity, r.key));
  if (root !== undefined) return { ok: true, signer: `trust root ${root.name} (public key)` };
  const named = keys.find((r) => r.hint === hint);
  if (named !== undefined)
    return {
      ok: false,
      reasons: [
        `signature does not verify over the DSSE payload with trust root ${named.name}'s key (edited after signing?)`,
      ],
    };
  return {
    ok: false,
    reasons: [
      `is signed by a key no trust root holds (key hint ${hint}; publicKey roots ${keys.map((r) => r.name).join(", ")})`,
    ],
  };
}

function subjectOf(cert: X509Certificate): string {
  return new NodeX509(certDer(cert)).subject.replace(/\n/g, ", ");
}

function certDer(cert: X509Certificate): Buffer {
  return Buffer.from(cert.root.toDER());
}

function oidcIssuer(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2 !== undefined) return v2.valueObj.subs[0]?.value.toString("utf8");
  return cert.extension(OID_ISSUER_V1)?.value.toString("ascii");
}

function validityProblem(cert: X509Certificate, now: Date): string | undefined {
  if (now < cert.notBefore)
    return `signing certificate ${subjectOf(cert)} is not valid yet (not before ${cert.notBefore.toISOString()})`;
  if (now > cert.notAfter)
    return `signing certificate ${subjectOf(cert)} expired at ${cert.notAfter.toISOString()}`;
  return undefined;
}

/** The leaf chains, at `now`, to one of the CA certificate sets (sigstore-js's path checks). */
function chainProblem(
  leaf: X509Certificate,
  cas: readonly (readonly X509Certificate[])[],
  now: Date,
): string | undefined {
  let last = "no certificate authority";
  for (const trustedCerts of cas) {
    try {
      new CertificateChainVerifier({
        trustedCerts: [...trustedCerts],
        untrustedCert: leaf,
        timestamp: now,
      }).verify();
      return undefined;
    } catch (e: unknown) {
      last = message(e);
    }
  }
  return last;
}

function identityOk(
  root: string,
  identities: readonly IdentityMatcher[],
  issuer: string | undefined,
  subject: string | undefined,
): SignerCheck {
  if (identities.some((i) => i.matches(issuer, subject)))
    return { ok: true, signer: `trust root ${root}: ${subject ?? "?"} (issuer ${issuer ?? "?"})` };
  return {
    ok: false,
    reasons: [
      `certificate identity subject ${subject ?? "(none)"} issuer ${issuer ?? "(none)"} matches none of trust root ${root}'s identities (${identities.map((i) => i.describe).join("; ")})`,
    ],
  };
}

function keyless(
  entity: Signed,
  leaf: X509Certificate,
  root: Extract<CompiledRoot, { type: "keyless" }>,
  now: Date,
): SignerCheck {
  const { trust } = root;
  if (entity.timestamps.length > 0) {
    const options: VerifierOptions = {
      tlogThreshold: trust.tlogs.length > 0 ? 1 : 0,
      ctlogThreshold: trust.ctlogs.length > 0 ? 1 : 0,
      timestampThreshold: 1,
    };
    try {
      const signer = new Verifier(trust, options).verify(entity);
      return identityOk(
        root.name,
        root.identities,
        signer.identity?.extensions?.issuer,
        signer.identity?.subjectAlternativeName,
      );
    } catch (e: unknown) {
      return { ok: false, reasons: [`does not verify under trust root ${root.name} (${message(e)})`] };
    }
  }
  if (trust.tlogs.length > 0)
    return {
      ok: false,
      reasons: [
        `carries no transparency log entry nor timestamp, and trust root ${root.name}'s trusted root lists ${trust.tlogs.length} transparency log(s)`,
      ],
    };
  const cas = trust.certificateAuthorities.filter((ca) => ca.validFor.start <= now && now <= ca.validFor.end);
  const chain = chainProblem(
    leaf,
    cas.map((ca) => ca.certChain),
    now,
  );
  if (chain !== undefined)
    return {
      ok: false,
      reasons: [
        `certificate ${subjectOf(leaf)} does not chain to trust root ${root.name}'s certificate authorities (${chain})`,
      ],
    };
  if (!signatureVerifies(entity, leafKey(leaf)))
    return {
      ok: false,
      reasons: [
        `signature does not verify over the DSSE payload with the certificate's key (edited after signing?)`,
      ],
    };
  return identityOk(root.name, root.identities, oidcIssuer(leaf), leaf.subjectAltName);
}

function leafKey(leaf: X509Certificate): KeyObject {
  return new NodeX509(certDer(leaf)).publicKey;
}

function byCertificateAuthority(
  entity: Signed,
  leaf: X509Certificate,
  root: Extract<CompiledRoot, { type: "certificateAuthority" }>,
  now: Date,
): SignerCheck {
  const chain = chainProblem(leaf, [root.certificates], now);
  if (chain !== undefined)
    return {
      ok: false,
      reasons: [`certificate ${subjectOf(leaf)} does not chain to trust root ${root.name} (${chain})`],
    };
  if (!signatureVerifies(entity, leafKey(leaf)))
    return {
      ok: false,
      reasons: [
        `signature does not verify over the DSSE payload with the certificate of ${subjectOf(leaf)} (edited after signing?)`,
      ],
    };
  return { ok: true, signer: `trust root ${root.name}: ${subjectOf(leaf)}` };
}

function byCertificate(
  entity: Signed,
  leaf: X509Certificate,
  roots: readonly CompiledRoot[],
  now: Date,
): SignerCheck {
  const usable = roots.filter((r) => r.type === "certificateAuthority" || r.type === "keyless");
  if (usable.length === 0)
    return {
      ok: false,
      reasons: [
        `is signed with certificate ${subjectOf(leaf)} and the policy has no certificateAuthority or keyless trust root`,
      ],
    };
  // A timestamped bundle's certificate is judged at its timestamps (by the Verifier), not now.
  const expired = entity.timestamps.length === 0 ? validityProblem(leaf, now) : undefined;
  if (expired !== undefined) return { ok: false, reasons: [expired] };
  const reasons: string[] = [];
  for (const root of usable) {
    const result =
      root.type === "keyless"
        ? keyless(entity, leaf, root, now)
        : root.type === "certificateAuthority"
          ? byCertificateAuthority(entity, leaf, root, now)
          : undefined;
    if (result === undefined) continue;
    if (result.ok) return result;
    reasons.push(...result.reasons);
  }
  return { ok: false, reasons };
}

/** Which signer (trust root, and identity under it) the bundle's signature verifies for, if any. */
export function omsSigner(oms: OmsBundle, roots: readonly CompiledRoot[], now: Date): SignerCheck {
  let entity: Signed;
  if (oms.bundle.content.$case !== "dsseEnvelope") return { ok: false, reasons: ["holds no DSSE envelope"] };
  try {
    entity = { ...toSignedEntity(oms.bundle), envelope: oms.bundle.content.dsseEnvelope };
  } catch (e: unknown) {
    return { ok: false, reasons: [`verification material cannot be read (${message(e)})`] };
  }
  const unusable = roots.flatMap((r) => (r.type === "unusable" ? [`trust root ${r.name} ${r.problem}`] : []));
  const result =
    entity.key.$case === "public-key"
      ? byKey(entity, entity.key.hint, roots)
      : byCertificate(entity, entity.key.certificate, roots, now);
  if (!result.ok) return { ok: false, reasons: [...result.reasons, ...unusable] };
  const { key } = entity;
  const untimed = key.$case === "certificate" && entity.timestamps.length === 0;
  return untimed ? { ...result, validUntil: key.certificate.notAfter } : result;
}
