// lineage-check: verify ModelVersions offline, parents resolved among the given files.
import { createPublicKey } from "node:crypto";
import { basename } from "node:path";
import type { Command } from "commander";
import type { ModelTrustPolicySpec, ModelVersion, TrustRoot, TrustedKey } from "../../api/index.ts";
import { keyIdOf, lineagePolicy, verifyLineage, type Material } from "../../lineage/index.ts";
import { materialObject } from "../../webhook/material.ts";
import { type ManifestObject } from "../../webhook/source-dir.ts";
import { readInput } from "../input.ts";
import { modelVersionsIn, policiesIn, qualifiedName, readObjects } from "../manifests.ts";
import { CheckFailedError, CliInputError, outputOption, printResult, type OutputFormat } from "../output.ts";

/** An ed25519 key trusts modelchain signatures; any other PEM key (ECDSA, RSA) OMS bundles. */
function trustFromKey(path: string): { key?: TrustedKey; root?: TrustRoot } {
  const pem = readInput(path).toString("utf8");
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType === "ed25519") return { key: { keyId: keyIdOf(key), publicKey: pem } };
    const name =
      basename(path)
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "") || "key";
    return { root: { name: name.slice(0, 63), publicKey: pem } };
  } catch (e: unknown) {
    throw new CliInputError(`${path}: not a PEM public key (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
}

function warnIgnoredPolicies(checked: readonly ManifestObject[]): void {
  for (const o of checked.filter((c) => c.object["kind"] === "ModelTrustPolicy")) {
    const metadata = o.object["metadata"];
    const name = typeof metadata === "object" && metadata !== null && "name" in metadata ? metadata.name : "";
    process.stderr.write(
      `lineage-check: ignoring ModelTrustPolicy ${String(name)} in ${o.file}: trust comes only from --policy and --trust-key\n`,
    );
  }
}

/**
 * Trust comes only from --trust-key and --policy, never from the files being checked: a
 * ModelTrustPolicy shipped beside a ModelVersion could otherwise vouch for it. The policies'
 * roots are pooled; the largest requiredSigners among them applies.
 */
function trustOf(opts: LineageCheckOptions, policyObjects: readonly ManifestObject[]): ModelTrustPolicySpec {
  const specs = policiesIn(policyObjects).map((p) => p.spec);
  const fromKeys = opts.trustKey.map(trustFromKey);
  const roots = [...fromKeys.flatMap((t) => t.root ?? []), ...specs.flatMap((s) => s.trustRoots ?? [])];
  return {
    trustedKeys: [...fromKeys.flatMap((t) => t.key ?? []), ...specs.flatMap((s) => s.trustedKeys ?? [])],
    trustRoots: roots.filter((r, i) => roots.findIndex((o) => o.name === r.name) === i),
    requiredSigners: Math.max(1, ...specs.map((s) => s.requiredSigners ?? 1)),
  };
}

/** ConfigMaps/Secrets: bundles from any given file, trusted roots only from --policy files. */
function materialOf(checked: readonly ManifestObject[], policyObjects: readonly ManifestObject[]): Material {
  const index = (objects: readonly ManifestObject[]) =>
    new Map(
      objects.flatMap((o) => {
        const m = materialObject(o.object);
        return m === undefined ? [] : [[`${m.kind}/${m.namespace}/${m.name}`, m.data] as const];
      }),
    );
  const trusted = index(policyObjects);
  const all = new Map([...index(checked), ...trusted]);
  return (ref) =>
    (ref.purpose === "trustedRoot" ? trusted : all).get(`${ref.kind}/${ref.namespace}/${ref.name}`)?.[
      ref.key
    ];
}

interface LineageCheckOptions {
  file: string[];
  trustKey: string[];
  policy: string[];
  output: OutputFormat;
}

/** Each ModelVersion's verdict, its parents resolved among the others. */
function verifyAll(mvs: readonly ModelVersion[], spec: ModelTrustPolicySpec, material: Material) {
  const policy = lineagePolicy(spec);
  const byName = new Map(mvs.map((mv) => [qualifiedName(mv), mv]));
  return mvs.map((mv) => {
    const verdict = verifyLineage(
      mv,
      (ns, name) => byName.get(`${ns}/${name}`),
      policy,
      undefined,
      undefined,
      {
        material,
      },
    );
    return {
      name: qualifiedName(mv),
      verified: verdict.verified,
      depth: verdict.depth,
      failed: verdict.failed,
    };
  });
}

function run(opts: LineageCheckOptions): void {
  const objects = readObjects(opts.file);
  const mvs = modelVersionsIn(objects);
  if (mvs.length === 0) throw new CliInputError(`no ModelVersion in ${opts.file.join(", ")}`);
  warnIgnoredPolicies(objects);
  const policyObjects = readObjects(opts.policy);
  const trust = trustOf(opts, policyObjects);
  if ((trust.trustedKeys ?? []).length === 0 && (trust.trustRoots ?? []).length === 0)
    throw new CliInputError("no trusted key: give --trust-key or --policy");
  const results = verifyAll(mvs, trust, materialOf(objects, policyObjects));
  printResult(
    opts.output === "table"
      ? Object.fromEntries(results.map((r) => [r.name, r.verified ? "verified" : r.failed.join("; ")]))
      : results,
    opts.output,
  );
  const failing = results.filter((r) => !r.verified);
  if (failing.length > 0)
    throw new CheckFailedError(failing.map((r) => `${r.name}: ${r.failed.join("; ")}`).join("\n"));
}

export function registerLineageCheck(program: Command): void {
  program
    .command("lineage-check")
    .description("verify the lineage of ModelVersions offline; parents are resolved among the given files")
    .requiredOption(
      "-f, --file <path...>",
      "YAML/JSON files or directories with the ModelVersions to check, their parents and the ConfigMaps/Secrets holding their OMS bundles",
    )
    .option(
      "--trust-key <pem...>",
      "trusted public keys: ed25519 for modelchain signatures, ECDSA/RSA for OMS bundles (model_signing sign key)",
      [],
    )
    .option(
      "--policy <path...>",
      "ModelTrustPolicy manifests whose trusted keys and trust roots are trusted, with the ConfigMaps holding their trusted roots",
      [],
    )
    .addOption(outputOption())
    .action((opts: LineageCheckOptions) => run(opts));
}
