// `modelchain check -f manifest.yaml --source dir:PATH`: the admission decision offline, for CI
// (like `kyverno apply`): exit 0 when every object would be admitted, 1 with each denial's
// reason, 2 on bad input.
import type { Command } from "commander";
import { openLedger, type Ledger } from "../../ledger/index.ts";
import { checkManifests, CheckInputError, type CheckResult } from "../../webhook/check.ts";
import { DirSourceInvalid, loadDirCache, parseSource, SourceSpecError } from "../../webhook/service.ts";
import {
  loadModelVersions,
  ManifestReadFailed,
  readManifestFile,
  type ManifestObject,
} from "../../webhook/source-dir.ts";
import { modelchainVocabulary } from "../../webhook/vocabulary.ts";
import { inputLimits } from "../input.ts";
import { CheckFailedError, CliInputError, outputOption, printResult, type OutputFormat } from "../output.ts";

interface CheckOptions {
  file: string[];
  source: string;
  ledger?: string;
  namespace: string;
  output: OutputFormat;
}

function asInputError(e: unknown): never {
  if (
    e instanceof ManifestReadFailed ||
    e instanceof SourceSpecError ||
    e instanceof DirSourceInvalid ||
    e instanceof CheckInputError
  ) {
    throw new CliInputError(e.message, { cause: e });
  }
  throw e;
}

function line(r: CheckResult): string {
  const who = `${r.kind} ${r.namespace}/${r.name} (${r.file})`;
  if (!r.allowed) return `DENIED  ${who}: ${r.message}`;
  return r.warnings.length > 0 ? `WARNED  ${who}: ${r.warnings.join("; ")}` : `ALLOWED ${who} [${r.reason}]`;
}

async function run(opts: CheckOptions): Promise<CheckResult[]> {
  const source = parseSource(opts.source);
  if (source.type !== "dir")
    throw new CliInputError("check needs --source dir:PATH (it runs without a cluster)");
  const ledger: Ledger | undefined =
    opts.ledger === undefined ? undefined : await openLedger(opts.ledger, { readOnly: true });
  try {
    const cache = await loadDirCache(modelchainVocabulary, source.path, ledger, inputLimits());
    const objects: ManifestObject[] = opts.file.flatMap((file) => readManifestFile(file, inputLimits()));
    // ModelVersions applied in the same manifest are known once applied (the invalid ones are
    // reported by their own decision below). Trust policies and Namespace labels come only from
    // --source: a manifest must not be able to vouch for itself.
    loadModelVersions(cache, objects);
    return checkManifests(cache, objects, opts.namespace);
  } finally {
    await ledger?.close();
  }
}

export function registerCheckCommand(program: Command): void {
  program
    .command("check")
    .description("decide, offline, whether the webhook would admit each object of the manifests")
    .requiredOption(
      "-f, --file <file>",
      "manifest (YAML, several documents allowed); repeatable",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .requiredOption(
      "--source <source>",
      "where trust policies, namespaces and known ModelVersions come from: dir:PATH (the only source of trust)",
    )
    .option("--ledger <url>", "ledger whose recorded spec digests the decision compares with")
    .option("-n, --namespace <ns>", "namespace for objects that name none", "default")
    .addOption(outputOption())
    .action(async (opts: CheckOptions) => {
      const results = await run(opts).catch(asInputError);
      if (opts.output !== "table") printResult(results, opts.output);
      else for (const r of results) process.stdout.write(`${line(r)}\n`);
      const denied = results.filter((r) => !r.allowed);
      if (denied.length > 0)
        throw new CheckFailedError(`${denied.length} of ${results.length} object(s) would be denied`);
    });
}
