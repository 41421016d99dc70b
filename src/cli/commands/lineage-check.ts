// lineage-check: verify ModelVersions offline, parents resolved among the given files.
import { createPublicKey } from "node:crypto";
import type { Command } from "commander";
import type { ModelVersion, TrustedKey } from "../../api/index.ts";
import { keyIdOf, lineagePolicy, verifyLineage } from "../../lineage/index.ts";
import type { ManifestObject } from "../../webhook/index.ts";
import { readInput } from "../input.ts";
import { modelVersionsIn, policiesIn, qualifiedName, readObjects } from "../manifests.ts";
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

/**
 * Trust comes only from --trust-key and --policy, never from the files being checked: a
 * ModelTrustPolicy shipped beside a ModelVersion could otherwise vouch for it.
 */
function trustedKeys(opts: LineageCheckOptions, checked: readonly ManifestObject[]): TrustedKey[] {
  for (const o of checked.filter((c) => c.object["kind"] === "ModelTrustPolicy")) {
    const metadata = o.object["metadata"];
    const name = typeof metadata === "object" && metadata !== null && "name" in metadata ? metadata.name : "";
    process.stderr.write(
      `lineage-check: ignoring ModelTrustPolicy ${String(name)} in ${o.file}: trust comes only from --policy and --trust-key\n`,
    );
  }
  const fromPolicies = policiesIn(readObjects(opts.policy)).flatMap((p) => p.spec.trustedKeys ?? []);
  return [...opts.trustKey.map(trustedKey), ...fromPolicies];
}

interface LineageCheckOptions {
  file: string[];
  trustKey: string[];
  policy: string[];
  output: OutputFormat;
}

/** Each ModelVersion's verdict, its parents resolved among the others. */
function verifyAll(mvs: readonly ModelVersion[], keys: TrustedKey[]) {
  const policy = lineagePolicy({ trustedKeys: keys });
  const byName = new Map(mvs.map((mv) => [qualifiedName(mv), mv]));
  return mvs.map((mv) => {
    const verdict = verifyLineage(mv, (ns, name) => byName.get(`${ns}/${name}`), policy);
    return {
      name: qualifiedName(mv),
      verified: verdict.verified,
      depth: verdict.depth,
      failed: verdict.failed,
    };
  });
}

export function registerLineageCheck(program: Command): void {
  program
    .command("lineage-check")
    .description("verify the lineage of ModelVersions offline; parents are resolved among the given files")
    .requiredOption(
      "-f, --file <path...>",
      "YAML/JSON files or directories with the ModelVersions to check and their parents",
    )
    .option("--trust-key <pem...>", "trusted ed25519 public keys", [])
    .option("--policy <path...>", "ModelTrustPolicy manifests whose trusted keys are trusted", [])
    .addOption(outputOption())
    .action((opts: LineageCheckOptions) => {
      const objects = readObjects(opts.file);
      const mvs = modelVersionsIn(objects);
      if (mvs.length === 0) throw new CliInputError(`no ModelVersion in ${opts.file.join(", ")}`);
      const keys = trustedKeys(opts, objects);
      if (keys.length === 0) throw new CliInputError("no trusted key: give --trust-key or --policy");
      const results = verifyAll(mvs, keys);
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
