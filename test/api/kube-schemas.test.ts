// src/api/kube-schemas.json is what scripts/kube-schemas.ts makes of the pinned Kubernetes
// release's OpenAPI document, and is a CRD structural schema throughout.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { kubeSchemas } from "../../scripts/kube-schemas.ts";
import { pinnedModule } from "../../scripts/kube-openapi.ts";

const root = join(import.meta.dirname, "..", "..");
const committed = JSON.parse(readFileSync(join(root, "src", "api", "kube-schemas.json"), "utf8")) as Record<
  string,
  unknown
>;
const DOCUMENT = "api/openapi-spec/v3/api__v1_openapi.json";

/** The upstream document in the Go module cache, when Go and the pinned module are there (no download). */
function cachedDocument(): string | { missing: string } {
  let cache: string;
  try {
    cache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  } catch {
    return { missing: "Go is not installed" };
  }
  const path = join(cache, pinnedModule(root), DOCUMENT);
  return existsSync(path) ? path : { missing: `${path} is not in the Go module cache (make envtest-assets)` };
}

/** Every keyword used anywhere in a schema tree, with where. */
function keywords(node: unknown, at: string, out: Map<string, string>): Map<string, string> {
  if (Array.isArray(node)) node.forEach((n, i) => keywords(n, `${at}[${i}]`, out));
  else if (typeof node === "object" && node !== null)
    for (const [k, v] of Object.entries(node)) {
      if (at.endsWith(".properties")) keywords(v, `${at}.${k}`, out);
      else {
        if (!out.has(k)) out.set(k, at);
        keywords(v, `${at}.${k}`, out);
      }
    }
  return out;
}

const document = cachedDocument();
if (typeof document !== "string") console.log(`SKIP regenerating kube-schemas.json: ${document.missing}`);

describe("the upstream Kubernetes shapes a ModelDeployment embeds", () => {
  it.skipIf(typeof document !== "string")("are what `make crds` generates from the pinned release", () => {
    const regenerated = kubeSchemas(
      JSON.parse(readFileSync(document as string, "utf8")),
      `${pinnedModule(root)} ${DOCUMENT}`,
    );
    expect(regenerated).toEqual(committed);
  });

  it("carry no $ref, allOf, oneOf or default: a structural schema that rewrites nothing users store", () => {
    const used = keywords(
      { podSpec: committed["podSpec"], container: committed["container"] },
      "",
      new Map(),
    );
    for (const banned of ["$ref", "allOf", "oneOf", "default", "x-kubernetes-patch-strategy"])
      expect(used.get(banned), banned).toBeUndefined();
    expect(used.has("x-kubernetes-int-or-string")).toBe(true);
  });
});
