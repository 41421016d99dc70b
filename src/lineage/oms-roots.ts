// The trust roots of a policy in the form @sigstore/verify takes, compiled once per content:
// a PEM key, a set of CA certificates, or a Sigstore trusted_root.json (read from a ConfigMap
// through the `material` lookup the caller passes in; nothing is fetched).
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { X509Certificate, pem } from "@sigstore/core";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, VerificationError, type TrustMaterial } from "@sigstore/verify";
import type { KeylessIdentity, TrustRoot } from "../api/index.ts";

/**
 * A ConfigMap or Secret key; `kind` says which. `purpose` lets a caller answer only from
 * sources it trusts for trust configuration: a bundle is verified, a trusted root is believed.
 */
export interface MaterialRef {
  purpose: "bundle" | "trustedRoot";
  kind: "ConfigMap" | "Secret";
  namespace: string;
  name: string;
  key: string;
}

/** The value of a ConfigMap/Secret key as the caller knows it, or undefined when it does not. */
export type Material = (ref: MaterialRef) => string | undefined;

export interface IdentityMatcher {
  describe: string;
  matches(issuer: string | undefined, subject: string | undefined): boolean;
}

export type CompiledRoot =
  | { name: string; type: "publicKey"; key: KeyObject; hint: string }
  | { name: string; type: "certificateAuthority"; certificates: X509Certificate[] }
  | { name: string; type: "keyless"; trust: TrustMaterial; identities: IdentityMatcher[] }
  | { name: string; type: "unusable"; problem: string };

export function describeRef(ref: MaterialRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name} key ${JSON.stringify(ref.key)}`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** model-signing's key hint: SHA-256 hex of the key's SPKI PEM text. */
function hintOf(key: KeyObject): string {
  const text = key.export({ type: "spki", format: "pem" });
  return createHash("sha256").update(text).digest("hex");
}

function matcher(exact: string | undefined, pattern: string | undefined): (v: string | undefined) => boolean {
  if (exact !== undefined) return (v) => v === exact;
  // The whole value must match: an unanchored pattern would let `ci@example.com.evil` pass.
  const re = new RegExp(`^(?:${pattern ?? ""})$`, "u");
  return (v) => v !== undefined && re.test(v);
}

function identityMatcher(id: KeylessIdentity): IdentityMatcher {
  const issuer = matcher(id.issuer, id.issuerRegExp);
  const subject = matcher(id.subject, id.subjectRegExp);
  const describe = `issuer ${id.issuer ?? `~/${id.issuerRegExp ?? ""}/`} subject ${id.subject ?? `~/${id.subjectRegExp ?? ""}/`}`;
  return { describe, matches: (i, s) => issuer(i) && subject(s) };
}

function certificates(pemText: string): X509Certificate[] {
  const blocks = pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error("no PEM certificate");
  return blocks.map((b) => X509Certificate.parse(pem.toDER(b)));
}

function keylessRoot(root: TrustRoot, material: Material): CompiledRoot {
  const ref = root.keyless?.trustedRoot.configMapKeyRef;
  if (ref === undefined) return { name: root.name, type: "unusable", problem: "has no keyless trusted root" };
  const where: MaterialRef = { purpose: "trustedRoot", kind: "ConfigMap", ...ref };
  const json = material(where);
  if (json === undefined)
    return { name: root.name, type: "unusable", problem: `trusted root ${describeRef(where)} is not known` };
  try {
    const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(json)), () => {
      throw new VerificationError({
        code: "PUBLIC_KEY_ERROR",
        message: "a keyless root holds no public keys",
      });
    });
    return {
      name: root.name,
      type: "keyless",
      trust,
      identities: (root.keyless?.identities ?? []).map(identityMatcher),
    };
  } catch (e: unknown) {
    return {
      name: root.name,
      type: "unusable",
      problem: `trusted root ${describeRef(where)} is not a trusted_root.json (${message(e)})`,
    };
  }
}

function compileRoot(root: TrustRoot, material: Material): CompiledRoot {
  try {
    if (root.publicKey !== undefined) {
      const key = createPublicKey(root.publicKey);
      return { name: root.name, type: "publicKey", key, hint: hintOf(key) };
    }
    if (root.certificateAuthority !== undefined)
      return {
        name: root.name,
        type: "certificateAuthority",
        certificates: certificates(root.certificateAuthority.certificates),
      };
  } catch (e: unknown) {
    return { name: root.name, type: "unusable", problem: `cannot be read (${message(e)})` };
  }
  return keylessRoot(root, material);
}

const compiled = new Map<string, CompiledRoot>();
const MAX_COMPILED = 256;

/** The root compiled, memoised by its spec and the material it reads. */
export function compiledRoot(
  root: TrustRoot,
  material: Material,
): { root: CompiledRoot; fingerprint: string } {
  const ref = root.keyless?.trustedRoot.configMapKeyRef;
  const json =
    ref === undefined
      ? ""
      : (material({ purpose: "trustedRoot", kind: "ConfigMap", ...ref }) ?? "\u0000missing");
  const fingerprint = createHash("sha256")
    .update(JSON.stringify(root))
    .update("\u0000")
    .update(json)
    .digest("hex");
  let hit = compiled.get(fingerprint);
  if (hit === undefined) {
    hit = compileRoot(root, () => (ref === undefined || json === "\u0000missing" ? undefined : json));
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value ?? "");
    compiled.set(fingerprint, hit);
  }
  return { root: hit, fingerprint };
}
