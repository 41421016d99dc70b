// sign: the training pipeline's side of model signing. Before a child is signed, each parent's
// spec digest is written into spec.parents[].specDigest, so the signature binds the parents it
// was trained from and not just their names. Parents come from the same file or from --parent.
import { createPublicKey, createPrivateKey, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { Document } from "yaml";
import {
  validateModelVersion,
  describeErrors,
  specDigest,
  type ModelVersion,
  type Signature,
} from "../../api/index.ts";
import { keyIdOf, signSpec } from "../../lineage/index.ts";
import { readYamlDocuments, type YamlDocument } from "../../webhook/yaml-input.ts";
import { inputLimits, readInput } from "../input.ts";
import { modelVersionsIn, parentName, qualifiedName, readObjects } from "../manifests.ts";
import { CliInputError } from "../output.ts";
import { describeReading, differentReadings } from "../yaml-readings.ts";

export function loadPrivateKey(path: string): KeyObject {
  try {
    const key = createPrivateKey(readInput(path));
    if (key.asymmetricKeyType !== "ed25519")
      throw new Error(`a ${key.asymmetricKeyType ?? "unknown"} key, not ed25519`);
    return key;
  } catch (e: unknown) {
    if (e instanceof CliInputError) throw e;
    throw new CliInputError(
      `${path}: not an ed25519 private key (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
}

/** A ModelVersion document of the file being signed. */
interface Signing {
  name: string;
  doc: Document;
  mv: ModelVersion;
  bound: boolean;
}

/** `doc` is well-formed and within the input limits: readYamlDocuments refused it otherwise. */
function signingOf({ document: doc, value, index }: YamlDocument, file: string): Signing | undefined {
  if (typeof value !== "object" || value === null || !("kind" in value) || value.kind !== "ModelVersion")
    return undefined;
  const checked = validateModelVersion(value);
  if (!checked.ok) throw new CliInputError(`${file}: document ${index}: ${describeErrors(checked.errors)}`);
  const readings = differentReadings(doc);
  if (readings.length > 0)
    throw new CliInputError(`${file}: document ${index}: ${readings.map(describeReading).join("; ")}`);
  return { name: qualifiedName(checked.value), doc, mv: checked.value, bound: false };
}

/** Fills in parent digests, parents first: a parent's digest covers its own parent digests. */
class ParentBinder {
  readonly bindings: string[] = [];
  private readonly file: string;
  private readonly signing: ReadonlyMap<string, Signing>;
  private readonly given: ReadonlyMap<string, ModelVersion>;

  constructor(file: string, signing: ReadonlyMap<string, Signing>, given: ReadonlyMap<string, ModelVersion>) {
    this.file = file;
    this.signing = signing;
    this.given = given;
  }

  bind(s: Signing, path: readonly string[]): void {
    if (s.bound) return;
    if (path.includes(s.name))
      throw new CliInputError(
        `${this.file}: cannot bind parents of a cycle ${[...path, s.name].join(" -> ")}`,
      );
    (s.mv.spec.parents ?? []).forEach((ref, i) => {
      const parent = parentName(s.mv, ref);
      const digest = this.digestOf(parent, [...path, s.name]);
      if (digest === undefined) {
        throw new CliInputError(
          `${this.file}: parent ${parent} of ${s.name} is not among the given files; pass its manifest with --parent (the signature binds the parent's spec digest)`,
        );
      }
      ref.specDigest = digest;
      s.doc.setIn(["spec", "parents", i, "specDigest"], digest);
      this.bindings.push(`${parent} (${digest}) into ${s.name}`);
    });
    s.bound = true;
  }

  private digestOf(name: string, path: readonly string[]): string | undefined {
    const inFile = this.signing.get(name);
    if (inFile !== undefined) {
      this.bind(inFile, path);
      return specDigest(inFile.mv.spec);
    }
    const given = this.given.get(name);
    return given === undefined ? undefined : specDigest(given.spec);
  }
}

function sign(s: Signing, key: KeyObject): void {
  const signature = signSpec(s.mv.spec, key);
  const others = (s.mv.spec.signatures ?? []).filter((x) => x.keyId !== signature.keyId);
  const signatures: Signature[] = [...others, signature];
  s.doc.setIn(["spec", "signatures"], s.doc.createNode(signatures));
}

interface SignOptions {
  file: string;
  key: string;
  parent: string[];
  out?: string;
}

/** What signing a YAML stream did: the stream rewritten, and what to tell the user. */
export interface SignedYaml {
  text: string;
  bindings: string[];
  signed: string[];
  keyId: string;
}

/**
 * Signs every ModelVersion of a parsed YAML stream (named `file` in messages), parents bound
 * from the stream itself or from the manifests at `parentPaths`; the rest is kept as written.
 */
export function signYamlDocuments(
  docs: readonly YamlDocument[],
  file: string,
  key: KeyObject,
  parentPaths: readonly string[],
): SignedYaml {
  const signing = docs.flatMap((doc) => signingOf(doc, file) ?? []);
  if (signing.length === 0) throw new CliInputError(`${file}: no ModelVersion to sign`);
  const given = new Map(modelVersionsIn(readObjects(parentPaths)).map((mv) => [qualifiedName(mv), mv]));
  const binder = new ParentBinder(file, new Map(signing.map((s) => [s.name, s])), given);
  for (const s of signing) binder.bind(s, []);
  for (const s of signing) sign(s, key);
  return {
    text: docs.map((d) => d.document.toString({ lineWidth: 0 })).join(""),
    bindings: binder.bindings,
    signed: signing.map((s) => s.name),
    keyId: keyIdOf(createPublicKey(key)),
  };
}

/** The lines `sign` tells the user on standard error. */
export function reportSigned(result: SignedYaml): void {
  for (const b of result.bindings) process.stderr.write(`bound parent ${b}\n`);
  process.stderr.write(`signed ${result.signed.join(", ")} with key ${result.keyId}\n`);
}

function run(opts: SignOptions): void {
  const key = loadPrivateKey(opts.key);
  const result = signYamlDocuments(
    [...readYamlDocuments(opts.file, inputLimits())],
    opts.file,
    key,
    opts.parent,
  );
  if (opts.out === undefined || opts.out === "-") process.stdout.write(result.text);
  else writeFileSync(opts.out, result.text);
  reportSigned(result);
}

export function registerSign(program: Command): void {
  program
    .command("sign")
    .description(
      "sign the ModelVersion(s) in a YAML file with an ed25519 key, binding each parent's spec digest and keeping the rest of the file as written",
    )
    .requiredOption("-f, --file <file>", "ModelVersion YAML")
    .requiredOption("--key <pem>", "ed25519 private key (modelchain keygen)")
    .option(
      "--parent <path...>",
      "manifests (files or directories) of the parents not in --file; their spec digests are bound",
      [],
    )
    .option("-o, --out <file>", "where to write the signed YAML (default: standard output)")
    .action((opts: SignOptions) => run(opts));
}
