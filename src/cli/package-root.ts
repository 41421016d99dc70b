import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The folder holding modelchain's package.json (and samples/, crds/ beside it): the first such
 * folder above this module, wherever the module sits (src/cli/ in the repository, a chunk under
 * dist/ once bundled, node_modules/modelchain/dist/ once installed).
 */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && nameOf(readFileSync(manifest, "utf8")) === "modelchain") return dir;
    if (dirname(dir) === dir) throw new Error(`no modelchain package.json above ${from}`);
  }
}

function nameOf(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? Reflect.get(value, "name") : undefined;
  } catch {
    return undefined;
  }
}
