// Where the pinned Kubernetes release's core/v1 OpenAPI v3 document is: in the Go module cache,
// under the k8s.io/kubernetes module test/envtest/assets/kube/go.mod requires.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const DOCUMENT = "api/openapi-spec/v3/api__v1_openapi.json";

export function pinnedModule(root: string): string {
  const goMod = readFileSync(join(root, "test", "envtest", "assets", "kube", "go.mod"), "utf8");
  const version = /^require k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1];
  if (version === undefined)
    throw new Error("test/envtest/assets/kube/go.mod does not pin k8s.io/kubernetes");
  return `k8s.io/kubernetes@${version}`;
}

/** `go mod download -json` (which fetches the module through the Go module proxy when missing). */
export function upstreamOpenApi(
  root: string,
  go: (args: string[], cwd: string) => string,
): { document: string; source: string } {
  const module = pinnedModule(root);
  const info = JSON.parse(
    go(["mod", "download", "-json", module], join(root, "test", "envtest", "assets", "kube")),
  ) as {
    Dir?: string;
    Error?: string;
  };
  if (info.Dir === undefined) throw new Error(`go mod download ${module}: ${info.Error ?? "no Dir"}`);
  return { document: join(info.Dir, DOCUMENT), source: `${module} ${DOCUMENT}` };
}
