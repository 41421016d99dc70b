// keygen and sign: the training pipeline's side of model signing.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { validateModelVersion, describeErrors, type Signature } from "../../api/index.ts";
import { keyIdOf, signSpec } from "../../lineage/index.ts";
import { readYamlDocuments, type YamlDocument } from "../../webhook/index.ts";
import { inputLimits, readInput } from "../input.ts";
import { CliInputError, printResult } from "../output.ts";

function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("write an ed25519 key pair (PEM) for signing ModelVersions and print its key id")
    .requiredOption("--out <dir>", "directory for <name>.pem (private, mode 0600) and <name>.pub.pem")
    .option("--name <name>", "file name stem", "modelchain-signing")
    .action((opts: { out: string; name: string }) => {
      const privatePath = join(opts.out, `${opts.name}.pem`);
      const publicPath = join(opts.out, `${opts.name}.pub.pem`);
      for (const path of [privatePath, publicPath])
        if (existsSync(path)) throw new CliInputError(`${path} already exists; refusing to overwrite a key`);
      mkdirSync(opts.out, { recursive: true });
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      writeFileSync(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600,
        flag: "wx",
      });
      writeFileSync(publicPath, publicKey.export({ type: "spki", format: "pem" }), { flag: "wx" });
      printResult({ keyId: keyIdOf(publicKey), privateKey: privatePath, publicKey: publicPath });
    });
}

function loadPrivateKey(path: string): KeyObject {
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

/** Adds (or replaces) this key's signature in one ModelVersion document, leaving the rest as written. */
function signDocument(
  { document: doc, value, index }: YamlDocument,
  file: string,
  key: KeyObject,
): string | undefined {
  if (
    typeof value !== "object" ||
    value === null ||
    (value as Record<string, unknown>)["kind"] !== "ModelVersion"
  )
    return undefined;
  const checked = validateModelVersion(value);
  if (!checked.ok) throw new CliInputError(`${file}: document ${index}: ${describeErrors(checked.errors)}`);
  const mv = checked.value;
  const signature = signSpec(mv.spec, key);
  const others = (mv.spec.signatures ?? []).filter((s) => s.keyId !== signature.keyId);
  const signatures: Signature[] = [...others, signature];
  doc.setIn(["spec", "signatures"], doc.createNode(signatures));
  return `${mv.metadata.namespace ?? "default"}/${mv.metadata.name}`;
}

function registerSign(program: Command): void {
  program
    .command("sign")
    .description(
      "sign the ModelVersion(s) in a YAML file with an ed25519 key, keeping the rest of the file as written",
    )
    .requiredOption("-f, --file <file>", "ModelVersion YAML")
    .requiredOption("--key <pem>", "ed25519 private key (modelchain keygen)")
    .option("-o, --out <file>", "where to write the signed YAML (default: standard output)")
    .action((opts: { file: string; key: string; out?: string }) => {
      const key = loadPrivateKey(opts.key);
      const docs = [...readYamlDocuments(opts.file, inputLimits())];
      const signed = docs.map((doc) => signDocument(doc, opts.file, key));
      if (signed.every((s) => s === undefined))
        throw new CliInputError(`${opts.file}: no ModelVersion to sign`);
      const text = docs.map((d) => d.document.toString({ lineWidth: 0 })).join("");
      if (opts.out === undefined || opts.out === "-") process.stdout.write(text);
      else writeFileSync(opts.out, text);
      process.stderr.write(
        `signed ${signed.filter((s) => s !== undefined).join(", ")} with key ${keyIdOf(createPublicKey(key))}\n`,
      );
    });
}

export function registerKeyCommands(program: Command): void {
  registerKeygen(program);
  registerSign(program);
}
