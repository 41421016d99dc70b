// Writes crds/*.yaml from src/api/schemas.ts (`make crds`), and the chart's copy of them
// (helm/modelchain/crds). Tests fail when either differs.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { crdFiles } from "../src/api/index.ts";

const root = join(import.meta.dirname, "..");
for (const dir of ["crds", join("helm", "modelchain", "crds")]) {
  for (const [name, text] of crdFiles()) {
    writeFileSync(join(root, dir, name), text);
    console.log(`wrote ${dir}/${name}`);
  }
}
