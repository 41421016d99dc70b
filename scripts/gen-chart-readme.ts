// Rewrites the values table of helm/modelchain/README.md from values.yaml and values.schema.json
// (`make chart-readme`). test/helm/values.test.ts fails when the table is not what this writes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chartValues, valuesTable, withValuesTable, type SchemaNode } from "./chart-values.ts";

const chart = join(import.meta.dirname, "..", "helm", "modelchain");
const read = (f: string) => readFileSync(join(chart, f), "utf8");
const values = chartValues(read("values.yaml"), JSON.parse(read("values.schema.json")) as SchemaNode);
writeFileSync(join(chart, "README.md"), withValuesTable(read("README.md"), valuesTable(values)));
console.log(`wrote helm/modelchain/README.md (${values.length} values)`);
