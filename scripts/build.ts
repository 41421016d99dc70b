// `make build` (`npm run build`): dist/ as the image and the npm package run it. The two bin
// entries are bundled with esbuild, each command's code in its own chunk (src/cli/main.ts loads
// one command's module only when it runs), minified, with a source map beside each file (Node
// reads it with --enable-source-maps). Bundled, a process resolves and compiles one file per
// chunk instead of about 1,600 modules: the operator at 10k Deployments / 50k Pods peaks 48-57 MiB
// lower (bench/operator-scale.ts), most of it @kubernetes/client-node, whose index loads every
// generated API and model. Type checking is `make typecheck` (tsgo); esbuild only strips types.
import { build, type BuildOptions } from "esbuild";
import { existsSync, rmSync } from "node:fs";
import { join, resolve, sep } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** The package's bin entries, by their path under dist/ without the extension. */
export const BIN_ENTRIES = {
  "cli/bin": join(root, "src/cli/bin.ts"),
  "cli/kubectl-modelchain": join(root, "src/cli/kubectl-modelchain.ts"),
};

/**
 * Bundles entryPoints into outdir. Dependencies are bundled too; node_modules must still sit
 * beside outdir for what the code loads by name at run time (createRequire: yaml, package.json
 * files). CommonJS dependencies call require() for Node's built-ins, which an ES module does
 * not have; the banner gives them one.
 */
export async function bundle(
  outdir: string,
  entryPoints: Record<string, string> = BIN_ENTRIES,
): Promise<void> {
  // The folder is emptied first: never one that holds a package, the repository or a parent of it.
  const out = resolve(outdir);
  if (existsSync(join(out, "package.json")) || root === out || root.startsWith(out + sep))
    throw new Error(`refusing to bundle into ${out}: it holds a package or the repository`);
  rmSync(out, { recursive: true, force: true });
  const options: BuildOptions = {
    entryPoints,
    outdir: out,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    minify: true,
    // Error and class names stay readable in logs and stack traces.
    keepNames: true,
    sourcemap: "linked",
    chunkNames: "chunks/[name]-[hash]",
    banner: {
      js: 'import { createRequire as __mcRequire } from "node:module"; const require = __mcRequire(import.meta.url);',
    },
    // Loaded from node_modules at run time: its optional plugins (XML, JSON validation) are
    // probed with require() inside try, which a bundler would have to resolve now.
    external: ["@cyclonedx/cyclonedx-library"],
    logLevel: "warning",
    legalComments: "linked",
  };
  await build(options);
}

if (import.meta.main) {
  const outdir = process.argv[2] ?? join(root, "dist");
  await bundle(outdir);
  console.log(`bundled ${Object.keys(BIN_ENTRIES).join(", ")} into ${outdir}`);
}
