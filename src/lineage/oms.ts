// An OMS bundle judged for one artifact: its signature verifies under the policy's trust roots
// (oms-verify.ts), and it is bound to the artifact: the statement's subject digest is the
// directory digest of the files its predicate lists (the one rule, src/artifact/manifest.ts)
// and equals the ModelVersion's spec.artifact.digest. Results are memoised per bundle digest.
import { createHash } from "node:crypto";
import { manifestDigest, ManifestDigestError, type FileDigest } from "../artifact/manifest.ts";
import type { TrustRoot } from "../api/index.ts";
import { OmsBundleInvalid, readOmsBundle } from "./oms-bundle.ts";
import { compiledRoot, type Material } from "./oms-roots.ts";
import { omsSigner } from "./oms-verify.ts";

/** No trust root vouches for the bundle; the reasons say why for each kind of root. */
export class OmsSignatureUntrusted extends Error {
  override readonly name = "OmsSignatureUntrusted";
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[]) {
    super(`OMS bundle: ${reasons.join("; ")}`);
    this.reasons = reasons;
  }
}

/** The bundle verifies, but over another artifact (or its statement contradicts itself). */
export class OmsDigestMismatch extends Error {
  override readonly name = "OmsDigestMismatch";
  readonly expected: string;
  readonly signed: string;
  constructor(message: string, expected: string, signed: string) {
    super(message);
    this.expected = expected;
    this.signed = signed;
  }
}

export interface OmsVerified {
  /** Who signed: the trust root, and the certificate identity under it. */
  signer: string;
  /** The statement's subject name (model-signing writes the model directory's name). */
  modelName: string;
  digest: string;
  files: readonly FileDigest[];
  /** The verdict rests on a certificate judged at verification time, valid until then. */
  validUntil?: Date;
}

export interface OmsContext {
  material: Material;
  now: Date;
}

function bind(artifactDigest: string, subjectDigest: string, files: readonly FileDigest[]): void {
  let listed: string;
  try {
    listed = manifestDigest(files);
  } catch (e: unknown) {
    if (e instanceof ManifestDigestError)
      throw new OmsBundleInvalid("statement.predicate.resources", e.message, { cause: e });
    throw e;
  }
  if (listed !== subjectDigest)
    throw new OmsDigestMismatch(
      `OMS bundle: statement subject digest ${subjectDigest} is not the digest ${listed} of the files its predicate lists`,
      subjectDigest,
      listed,
    );
  if (subjectDigest !== artifactDigest)
    throw new OmsDigestMismatch(
      `OMS bundle signs another artifact: it signs ${subjectDigest}, spec.artifact.digest is ${artifactDigest}`,
      artifactDigest,
      subjectDigest,
    );
}

interface Memo {
  result: OmsVerified | Error;
  validUntil?: Date;
}
const memo = new Map<string, Memo>();
const MAX_MEMO = 4096;

function remember(key: string, entry: Memo): void {
  if (memo.size >= MAX_MEMO) memo.delete(memo.keys().next().value ?? "");
  memo.set(key, entry);
}

function verifyUncached(
  json: string,
  roots: readonly TrustRoot[],
  artifactDigest: string,
  ctx: OmsContext,
): Memo {
  const oms = readOmsBundle(json);
  const compiled = roots.map((r) => compiledRoot(r, ctx.material).root);
  const signer = omsSigner(oms, compiled, ctx.now);
  if (!signer.ok) throw new OmsSignatureUntrusted(signer.reasons);
  const { statement } = oms;
  bind(artifactDigest, statement.subjectDigest, statement.files);
  const result = {
    signer: signer.signer,
    modelName: statement.modelName,
    digest: statement.subjectDigest,
    files: statement.files,
  };
  if (signer.validUntil === undefined) return { result };
  return { result: { ...result, validUntil: signer.validUntil }, validUntil: signer.validUntil };
}

/**
 * Verifies an OMS bundle (its JSON text) for an artifact digest under trust roots; throws
 * OmsBundleInvalid, OmsSignatureUntrusted or OmsDigestMismatch, each naming what failed.
 */
export function verifyOmsBundle(
  json: string,
  roots: readonly TrustRoot[],
  artifactDigest: string,
  ctx: OmsContext,
): OmsVerified {
  const key = [
    createHash("sha256").update(json).digest("hex"),
    artifactDigest,
    ...roots.map((r) => compiledRoot(r, ctx.material).fingerprint),
  ].join("\u0000");
  const hit = memo.get(key);
  if (hit !== undefined && (hit.validUntil === undefined || ctx.now <= hit.validUntil)) {
    if (hit.result instanceof Error) throw hit.result;
    return hit.result;
  }
  try {
    const fresh = verifyUncached(json, roots, artifactDigest, ctx);
    remember(key, fresh);
    return fresh.result as OmsVerified;
  } catch (e: unknown) {
    // A malformed bundle stays malformed; anything else may pass later (a root, the clock).
    if (e instanceof OmsBundleInvalid || e instanceof OmsDigestMismatch) remember(key, { result: e });
    throw e;
  }
}

/**
 * The verified per-file manifest of an OMS bundle (path → sha256 hex) for an artifact: what an
 * init container checks each delivered file against. Throws as verifyOmsBundle does.
 */
export function verifiedOmsManifest(
  json: string,
  roots: readonly TrustRoot[],
  artifactDigest: string,
  ctx: OmsContext,
): Map<string, string> {
  return new Map(verifyOmsBundle(json, roots, artifactDigest, ctx).files.map((f) => [f.path, f.sha256]));
}
