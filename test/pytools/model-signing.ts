// Signing model directories with the real model-signing tool, and the PKI it signs with made
// by make_pki.py (the `cryptography` package of the same venv). For the OMS tests.
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { manifestDigest, type FileDigest } from "../../src/artifact/manifest.ts";
import { pythonTool } from "./tools.ts";

function tool(exe: string): string {
  const found = pythonTool("signing", exe);
  if ("missing" in found) throw new Error(found.missing);
  return found.bin;
}

export function workDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mc-${prefix}-`));
}

/** A model directory of random files. */
export function writeModel(root: string, files: Record<string, Buffer> = defaultFiles()): void {
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

function defaultFiles(): Record<string, Buffer> {
  return {
    "model.safetensors": randomBytes(40_000),
    "config.json": Buffer.from('{"hidden_size": 8}'),
    "tokenizer/vocab.txt": randomBytes(300),
  };
}

/** The directory's digest recomputed from its bytes, by the one rule. */
export function directoryDigest(root: string): string {
  const files: FileDigest[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else
        files.push({
          path: relative(root, path),
          sha256: createHash("sha256").update(readFileSync(path)).digest("hex"),
        });
    }
  };
  walk(root);
  return manifestDigest(files);
}

export interface KeyPair {
  privateKeyFile: string;
  publicKeyPem: string;
}

export function ecKey(work: string, name: string, curve: "P-256" | "P-384" = "P-256"): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
  const privateKeyFile = join(work, `${name}.pem`);
  writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  return { privateKeyFile, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** `model_signing sign key`: the bundle JSON. */
export function signWithKey(model: string, key: KeyPair): string {
  const out = `${model}.key-${randomBytes(4).toString("hex")}.sig`;
  execFileSync(
    tool("model_signing"),
    ["sign", "key", model, "--private_key", key.privateKeyFile, "--signature", out],
    {
      stdio: "pipe",
    },
  );
  return readFileSync(out, "utf8");
}

export interface CertSpec {
  name: string;
  issuer: string | null;
  ca?: boolean;
  /** Seconds from now. */
  not_before: number;
  not_after: number;
  email?: string;
  uri?: string;
  oidc_issuer?: string;
}

/** Issues certificates in order; returns the directory holding <name>.cert.pem / .key.pem. */
export function makePki(work: string, certs: readonly CertSpec[]): string {
  const dir = join(work, `pki-${randomBytes(4).toString("hex")}`);
  execFileSync(tool("python"), [join(import.meta.dirname, "make_pki.py"), dir], {
    input: JSON.stringify(certs),
  });
  return dir;
}

export const pem = (pki: string, name: string): string => readFileSync(join(pki, `${name}.cert.pem`), "utf8");

/** `model_signing sign certificate` with the leaf's key, the leaf and its chain. */
export function signWithCertificate(
  model: string,
  pki: string,
  leaf: string,
  chain: readonly string[],
): string {
  const out = `${model}.cert-${randomBytes(4).toString("hex")}.sig`;
  const args = ["sign", "certificate", model, "--private_key", join(pki, `${leaf}.key.pem`)];
  args.push("--signing_certificate", join(pki, `${leaf}.cert.pem`), "--signature", out);
  for (const c of chain) args.push("--certificate_chain", join(pki, `${c}.cert.pem`));
  execFileSync(tool("model_signing"), args, { stdio: "pipe" });
  return readFileSync(out, "utf8");
}

/** A Sigstore trusted_root.json whose one certificate authority is the given chain (leaf-most first). */
export function trustedRootJson(chainPems: readonly string[]): string {
  const der = (p: string): string => p.replace(/-----[A-Z ]+-----|\s/g, "");
  return JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    ctlogs: [],
    timestampAuthorities: [],
    certificateAuthorities: [
      {
        subject: { organization: "modelchain tests", commonName: "test fulcio" },
        uri: "https://fulcio.test.invalid",
        certChain: { certificates: chainPems.map((p) => ({ rawBytes: der(p) })) },
        validFor: { start: "2020-01-01T00:00:00Z" },
      },
    ],
  });
}

/** The digest model-signing signs for a model directory: its statement's subject digest. */
export function modelSigningDigest(model: string): string {
  const bundle = JSON.parse(signWithKey(model, ecKey(workDir("ms-digest"), "key"))) as {
    dsseEnvelope: { payload: string };
  };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8")) as {
    subject: { digest: { sha256: string } }[];
  };
  return `sha256:${statement.subject[0]?.digest.sha256 ?? ""}`;
}
