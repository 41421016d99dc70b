// Reading an OpenSSF Model Signing bundle: a Sigstore bundle (@sigstore/bundle checks its
// structure) whose DSSE envelope carries an in-toto statement; the statement's predicate lists
// every file of the model with its SHA-256, and its one subject is the directory's digest.
import { assertBundle, bundleFromJSON, ValidationError, type Bundle } from "@sigstore/bundle";
import { Bundle as BundleMessage } from "@sigstore/protobuf-specs";
import type { FileDigest } from "../artifact/manifest.ts";

/** A bundle or its statement is not what model-signing writes; the message names the field. */
export class OmsBundleInvalid extends Error {
  override readonly name = "OmsBundleInvalid";
  readonly field: string;
  constructor(field: string, problem: string, options?: ErrorOptions) {
    super(`OMS bundle: ${field} ${problem}`, options);
    this.field = field;
  }
}

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const OMS_PREDICATE_TYPE = "https://model_signing/signature/v1.0";
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export interface OmsStatement {
  /** The subject's name: model-signing writes the model directory's name. */
  modelName: string;
  /** `sha256:<hex>` the statement signs for the whole model. */
  subjectDigest: string;
  files: FileDigest[];
}

export interface OmsBundle {
  bundle: Bundle;
  statement: OmsStatement;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function field(o: Record<string, unknown>, name: string, path: string): unknown {
  const v = o[name];
  if (v === undefined) throw new OmsBundleInvalid(`${path}.${name}`, "is missing");
  return v;
}

function text(o: Record<string, unknown>, name: string, path: string): string {
  const v = field(o, name, path);
  if (typeof v !== "string") throw new OmsBundleInvalid(`${path}.${name}`, "is not a string");
  return v;
}

function record(v: unknown, path: string): Record<string, unknown> {
  if (!isRecord(v)) throw new OmsBundleInvalid(path, "is not an object");
  return v;
}

function resource(v: unknown, i: number): FileDigest {
  const path = `statement.predicate.resources[${i}]`;
  const r = record(v, path);
  const algorithm = text(r, "algorithm", path);
  if (algorithm !== "sha256") throw new OmsBundleInvalid(`${path}.algorithm`, `is ${algorithm}, not sha256`);
  const digest = text(r, "digest", path);
  if (!HEX_SHA256.test(digest)) throw new OmsBundleInvalid(`${path}.digest`, "is not 64 lowercase hex");
  return { path: text(r, "name", path), sha256: digest };
}

function subjectOf(statement: Record<string, unknown>): { name: string; sha256: string } {
  const subjects = field(statement, "subject", "statement");
  if (!Array.isArray(subjects) || subjects.length !== 1)
    throw new OmsBundleInvalid("statement.subject", "must list exactly one subject (the model)");
  const subject = record(subjects[0], "statement.subject[0]");
  const digest = record(field(subject, "digest", "statement.subject[0]"), "statement.subject[0].digest");
  const sha256 = text(digest, "sha256", "statement.subject[0].digest");
  if (!HEX_SHA256.test(sha256))
    throw new OmsBundleInvalid("statement.subject[0].digest.sha256", "is not 64 lowercase hex");
  return { name: text(subject, "name", "statement.subject[0]"), sha256 };
}

/** The in-toto statement of a model-signing bundle, its fields checked. */
export function omsStatement(payload: Buffer): OmsStatement {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch (e: unknown) {
    throw new OmsBundleInvalid("dsseEnvelope.payload", "is not a JSON statement", { cause: e });
  }
  const statement = record(parsed, "statement");
  const type = text(statement, "_type", "statement");
  if (type !== STATEMENT_TYPE)
    throw new OmsBundleInvalid("statement._type", `is ${type}, not ${STATEMENT_TYPE}`);
  const predicateType = text(statement, "predicateType", "statement");
  if (predicateType !== OMS_PREDICATE_TYPE)
    throw new OmsBundleInvalid("statement.predicateType", `is ${predicateType}, not ${OMS_PREDICATE_TYPE}`);
  const predicate = record(field(statement, "predicate", "statement"), "statement.predicate");
  const serialization = record(
    field(predicate, "serialization", "statement.predicate"),
    "statement.predicate.serialization",
  );
  const method = text(serialization, "method", "statement.predicate.serialization");
  // Shard serialization digests byte ranges, not files: its subject is not the directory digest.
  if (method !== "files")
    throw new OmsBundleInvalid("statement.predicate.serialization.method", `is ${method}, not files`);
  const resources = field(predicate, "resources", "statement.predicate");
  if (!Array.isArray(resources)) throw new OmsBundleInvalid("statement.predicate.resources", "is not a list");
  const subject = subjectOf(statement);
  return {
    modelName: subject.name,
    subjectDigest: `sha256:${subject.sha256}`,
    files: resources.map(resource),
  };
}

const CHAIN_FIELD = "verificationMaterial.content.$case";

/**
 * model-signing 1.1.1 writes v0.3 bundles with an x509CertificateChain, which v0.3 forbids
 * (a single certificate); @sigstore/bundle refuses exactly that field. Such a bundle is read
 * under the rules of the earlier versions; its first certificate is the signer's, and the
 * intermediates it carries are never trusted (trust roots list them).
 */
function invalid(e: unknown): OmsBundleInvalid {
  if (e instanceof ValidationError)
    return new OmsBundleInvalid(e.fields.join(", ") || "(bundle)", e.message, { cause: e });
  const problem = `is not a Sigstore bundle (${e instanceof Error ? e.message : String(e)})`;
  return new OmsBundleInvalid("(bundle)", problem, { cause: e });
}

function sigstoreBundle(parsed: unknown): Bundle {
  try {
    return bundleFromJSON(parsed);
  } catch (e: unknown) {
    if (!(e instanceof ValidationError && e.fields.length === 1 && e.fields[0] === CHAIN_FIELD))
      throw invalid(e);
  }
  try {
    const bundle = BundleMessage.fromJSON(parsed);
    assertBundle(bundle);
    return bundle as Bundle;
  } catch (e: unknown) {
    throw invalid(e);
  }
}

/** Parses bundle JSON text: structure by @sigstore/bundle, then the DSSE statement. */
export function readOmsBundle(json: string): OmsBundle {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e: unknown) {
    throw new OmsBundleInvalid("(bundle)", `is not JSON (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  const bundle = sigstoreBundle(parsed);
  if (bundle.content.$case !== "dsseEnvelope")
    throw new OmsBundleInvalid(
      "dsseEnvelope",
      "is missing (model-signing signs a DSSE envelope, not a message)",
    );
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new OmsBundleInvalid(
      "dsseEnvelope.payloadType",
      `is ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`,
    );
  if (envelope.signatures.length !== 1)
    throw new OmsBundleInvalid(
      "dsseEnvelope.signatures",
      `has ${envelope.signatures.length} signatures, not 1`,
    );
  return { bundle, statement: omsStatement(envelope.payload) };
}
