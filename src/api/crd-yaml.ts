import { stringify } from "yaml";
import { CRD_SOURCES, customResourceDefinition } from "./schemas.ts";

/** The crds/ files as generated from schemas.ts: file name → YAML text. */
export function crdFiles(): Map<string, string> {
  const header = "# Generated from src/api/schemas.ts by `make crds`; edit the schema there, not here.\n";
  return new Map(
    CRD_SOURCES.map((source) => [
      `${source.names.plural}.yaml`,
      // No anchors and aliases: a schema shared by two fields is written out at each.
      header + stringify(customResourceDefinition(source), { lineWidth: 0, aliasDuplicateObjects: false }),
    ]),
  );
}
