// Writes src/api/kube-schemas.json (`make crds`): the Pod and container fields a ModelDeployment
// embeds, from the OpenAPI v3 document of the Kubernetes release the envtest control plane pins
// (test/envtest/assets/kube/go.mod), read from the Go module cache (`go mod download` fills it).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubeSchemas } from "./kube-schemas.ts";
import { upstreamOpenApi } from "./kube-openapi.ts";

const root = join(import.meta.dirname, "..");
const { document, source } = upstreamOpenApi(root, (args, cwd) =>
  execFileSync("go", args, { cwd, encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } }),
);
const out = join(root, "src", "api", "kube-schemas.json");
writeFileSync(
  out,
  `${JSON.stringify(kubeSchemas(JSON.parse(readFileSync(document, "utf8")), source), null, 2)}\n`,
);
console.log(`wrote src/api/kube-schemas.json from ${source}`);
