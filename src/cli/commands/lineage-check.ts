// lineage-check: verify ModelVersions offline, parents resolved among the given files.
import { createPublicKey } from "node:crypto";
import type { Command } from "commander";
import {
  describeErrors,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelVersion,
  type TrustedKey,
} from "../../api/index.ts";
import { keyIdOf, lineagePolicy, verifyLineage } from "../../lineage/index.ts";
import {
  manifestFiles,
  readManifestFile,
  ManifestReadFailed,
  type ManifestObject,
} from "../../webhook/index.ts";
import { inputLimits, readInput } from "../input.ts";
import { CheckFailedError, CliInputError, outputOption, printResult, type OutputFormat } from "../output.ts";

function trustedKey(path: string): TrustedKey {
  const pem = readInput(path).toString("utf8");
  try {
    return { keyId: keyIdOf(createPublicKey(pem)), publicKey: pem };
  } catch (e: unknown) {
    throw new CliInputError(
      `${path}: not an ed25519 public key (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
}

function readObjects(paths: string[]): ManifestObject[] {
  try {
    return paths.flatMap((p) => manifestFiles(p)).flatMap((f) => readManifestFile(f, inputLimits()));
  } catch (e: unknown) {
    if (e instanceof ManifestReadFailed) throw new CliInputError(e.message, { cause: e });
    throw e;
  }
}

function modelVersions(objects: ManifestObject[]): ModelVersion[] {
  return objects
    .filter((o) => o.object["kind"] === "ModelVersion")
    .map((o) => {
      const checked = validateModelVersion(o.object);
      if (!checked.ok)
        throw new CliInputError(`${o.file}: document ${o.doc}: ${describeErrors(checked.errors)}`);
      return checked.value;
    });
}

function trustedKeys(objects: ManifestObject[], keyFiles: string[]): TrustedKey[] {
  const fromPolicies = objects
    .filter((o) => o.object["kind"] === "ModelTrustPolicy")
    .flatMap((o) => {
      const checked = validateModelTrustPolicy(o.object);
      if (!checked.ok)
        throw new CliInputError(`${o.file}: document ${o.doc}: ${describeErrors(checked.errors)}`);
      return checked.value.spec.trustedKeys;
    });
  return [...keyFiles.map(trustedKey), ...fromPolicies];
}

export function registerLineageCheck(program: Command): void {
  program
    .command("lineage-check")
    .description("verify the lineage of ModelVersions offline; parents are resolved among the given files")
    .requiredOption(
      "-f, --file <path...>",
      "YAML/JSON files or directories with ModelVersions (and optionally ModelTrustPolicies)",
    )
    .option(
      "--trust-key <pem...>",
      "trusted ed25519 public keys (in addition to those of any ModelTrustPolicy given)",
      [],
    )
    .addOption(outputOption())
    .action((opts: { file: string[]; trustKey: string[]; output: OutputFormat }) => {
      const objects = readObjects(opts.file);
      const mvs = modelVersions(objects);
      if (mvs.length === 0) throw new CliInputError(`no ModelVersion in ${opts.file.join(", ")}`);
      const keys = trustedKeys(objects, opts.trustKey);
      if (keys.length === 0)
        throw new CliInputError("no trusted key: give --trust-key or a ModelTrustPolicy");
      const policy = lineagePolicy({ trustedKeys: keys });
      const byName = new Map(
        mvs.map((mv) => [`${mv.metadata.namespace ?? "default"}/${mv.metadata.name}`, mv]),
      );
      const results = mvs.map((mv) => {
        const verdict = verifyLineage(mv, (ns, name) => byName.get(`${ns}/${name}`), policy);
        return {
          name: `${mv.metadata.namespace ?? "default"}/${mv.metadata.name}`,
          verified: verdict.verified,
          depth: verdict.depth,
          failed: verdict.failed,
        };
      });
      printResult(
        opts.output === "table"
          ? Object.fromEntries(results.map((r) => [r.name, r.verified ? "verified" : r.failed.join("; ")]))
          : results,
        opts.output,
      );
      const failing = results.filter((r) => !r.verified);
      if (failing.length > 0)
        throw new CheckFailedError(failing.map((r) => `${r.name}: ${r.failed.join("; ")}`).join("\n"));
    });
}
