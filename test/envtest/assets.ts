// Where the control-plane binaries are: KUBEBUILDER_ASSETS (the envtest convention), else
// the cache `make envtest-assets` builds into. Tests skip, saying why, when neither has them.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

const REQUIRED = ["kube-apiserver", "etcd"];

export function pinnedKubernetesVersion(): string {
  const goMod = readFileSync(join(import.meta.dirname, "assets", "kube", "go.mod"), "utf8");
  const match = /^require k8s\.io\/kubernetes v(\S+)$/m.exec(goMod);
  if (match?.[1] === undefined)
    throw new Error("test/envtest/assets/kube/go.mod does not pin k8s.io/kubernetes");
  return match[1];
}

function complete(dir: string): boolean {
  return REQUIRED.every((b) => existsSync(join(dir, b)));
}

export type AssetLookup = { dir: string } | { missing: string };

export function envtestAssets(): AssetLookup {
  const fromEnv = process.env["KUBEBUILDER_ASSETS"];
  if (fromEnv !== undefined && fromEnv !== "") {
    return complete(fromEnv)
      ? { dir: fromEnv }
      : { missing: `KUBEBUILDER_ASSETS=${fromEnv} lacks ${REQUIRED.join(" or ")}` };
  }
  const cache =
    process.env["MODELCHAIN_ENVTEST_CACHE"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "modelchain", "envtest");
  const dir = join(cache, pinnedKubernetesVersion());
  if (complete(dir)) return { dir };
  return {
    missing: `no kube-apiserver/etcd: run \`make envtest-assets\` (needs Go) or set KUBEBUILDER_ASSETS to a folder that has them`,
  };
}

/** For `describe.skipIf`: prints the one line that says what is missing, once per file. */
export function skipWithoutAssets(suite: string): boolean {
  const assets = envtestAssets();
  if ("missing" in assets) {
    console.log(`SKIP ${suite} (real control plane): ${assets.missing}`);
    return true;
  }
  return false;
}
