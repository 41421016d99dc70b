// Writes crds/*.yaml from src/api/schemas.ts (`make crds`). A test fails when they differ.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { crdFiles } from "../src/api/index.ts";

const dir = join(import.meta.dirname, "..", "crds");
for (const [name, text] of crdFiles()) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote crds/${name}`);
}
