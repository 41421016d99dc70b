// Writes crds/*.yaml from src/api/schemas.ts (`make crds`), and from them the chart's CRD
// templates (helm/modelchain/templates/crds/). Tests fail when either differs from what this writes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crdFiles } from "../src/api/index.ts";
import { CHART_CRD_DIR, chartCrdTemplates } from "./chart-crds.ts";

const root = join(import.meta.dirname, "..");
const files = crdFiles();
for (const [name, text] of files) {
  writeFileSync(join(root, "crds", name), text);
  console.log(`wrote crds/${name}`);
}
const chartDir = join(root, CHART_CRD_DIR);
mkdirSync(chartDir, { recursive: true });
const templates = chartCrdTemplates(files);
// A CRD dropped from the schemas leaves no template behind.
for (const stale of readdirSync(chartDir).filter((f) => !templates.has(f))) {
  rmSync(join(chartDir, stale));
  console.log(`removed ${CHART_CRD_DIR}/${stale}`);
}
for (const [name, text] of templates) {
  writeFileSync(join(chartDir, name), text);
  console.log(`wrote ${CHART_CRD_DIR}/${name}`);
}
