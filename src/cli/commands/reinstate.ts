// reinstate: the signed act that lifts a recorded revocation. It rewrites a ModelVersion's
// manifest (as `sign` does, keeping the rest of the file as written): `spec.revoked` removed,
// `spec.reinstated` set to a signature, by a key a ModelTrustPolicy lists under
// spec.revocation.reinstatementKeys, over the object, its spec digest and the ledger index of
// the revocation it lifts. Applying the result is what reinstates: the operator records
// ModelVersionReinstated naming the signer; without the act the webhook denies the removal.
import { createPublicKey } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { describeErrors, validateModelVersion } from "../../api/index.ts";
import { keyIdOf, reinstatementSubject, signReinstatement } from "../../lineage/index.ts";
import { readYamlDocuments } from "../../webhook/yaml-input.ts";
import { inputLimits } from "../input.ts";
import { qualifiedName } from "../manifests.ts";
import { CliInputError, parseIndex } from "../output.ts";
import { loadPrivateKey } from "./sign.ts";

interface ReinstateOptions {
  file: string;
  key: string;
  revocation: number;
  reason: string;
  out?: string;
}

function run(opts: ReinstateOptions): void {
  const key = loadPrivateKey(opts.key);
  const docs = [...readYamlDocuments(opts.file, inputLimits())];
  const models = docs.filter(
    (d) =>
      typeof d.value === "object" && d.value !== null && "kind" in d.value && d.value.kind === "ModelVersion",
  );
  const [doc, ...others] = models;
  if (doc === undefined) throw new CliInputError(`${opts.file}: no ModelVersion to reinstate`);
  if (others.length > 0)
    throw new CliInputError(`${opts.file}: ${models.length} ModelVersions; reinstate one at a time`);
  const checked = validateModelVersion(doc.value);
  if (!checked.ok)
    throw new CliInputError(`${opts.file}: document ${doc.index}: ${describeErrors(checked.errors)}`);
  const mv = checked.value;
  const act = signReinstatement(reinstatementSubject(mv, opts.revocation, opts.reason), key);
  doc.document.deleteIn(["spec", "revoked"]);
  doc.document.setIn(["spec", "reinstated"], doc.document.createNode(act));
  const text = docs.map((d) => d.document.toString({ lineWidth: 0 })).join("");
  if (opts.out === undefined || opts.out === "-") process.stdout.write(text);
  else writeFileSync(opts.out, text);
  process.stderr.write(
    `reinstatement of ${qualifiedName(mv)} (lifts ledger entry ${opts.revocation}) signed with key ${keyIdOf(createPublicKey(key))}; apply the manifest to reinstate\n`,
  );
}

export function registerReinstate(program: Command): void {
  program
    .command("reinstate")
    .description(
      "sign the reinstatement of a revoked ModelVersion: removes spec.revoked and writes spec.reinstated into its manifest, to be applied",
    )
    .requiredOption("-f, --file <file>", "the ModelVersion's YAML (e.g. kubectl get mv <name> -o yaml)")
    .requiredOption("--key <pem>", "ed25519 private key trusted under spec.revocation.reinstatementKeys")
    .requiredOption(
      "--revocation <index>",
      "ledger index of the revocation lifted (status.revocation.ledgerIndex)",
      parseIndex("--revocation"),
    )
    .requiredOption("--reason <text>", "why the model is reinstated (recorded in the ledger)")
    .option("-o, --out <file>", "where to write the YAML (default: standard output)")
    .action((opts: ReinstateOptions) => run(opts));
}
