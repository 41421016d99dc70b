// `kubectl explain` reads a CRD's descriptions: every property of every generated schema has one.
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { crdFiles, type Schema } from "../../src/api/index.ts";

/** Paths of the properties below `schema` that have no description (array items and map values included). */
function undescribed(schema: Schema, path: string): string[] {
  const problems: string[] = [];
  const properties = schema["properties"] as Record<string, Schema> | undefined;
  for (const [name, property] of Object.entries(properties ?? {})) {
    const at = `${path}.${name}`;
    // The API server explains ObjectMeta itself and refuses anything but name/generateName here.
    if (at === ".metadata") continue;
    const text = property["description"];
    if (typeof text !== "string" || text.trim() === "") problems.push(at);
    problems.push(...undescribed(property, at));
  }
  const items = schema["items"] as Schema | undefined;
  if (items !== undefined) problems.push(...undescribed(items, `${path}[]`));
  const values = schema["additionalProperties"];
  if (typeof values === "object" && values !== null)
    problems.push(...undescribed(values as Schema, `${path}{}`));
  return problems;
}

const crds = [...crdFiles()].map(([file, text]) => {
  const crd = parse(text) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
  return { file, schema: crd.spec.versions[0]?.schema.openAPIV3Schema ?? {} };
});

describe("CRD descriptions", () => {
  it.each(crds)("$file: every property has a description", ({ schema }) => {
    expect(typeof schema["description"]).toBe("string");
    expect(undescribed(schema, "")).toEqual([]);
  });

  it("finds a property without one (the walk reaches nested objects, list items and map values)", () => {
    const schema: Schema = {
      type: "object",
      properties: {
        a: {
          type: "array",
          description: "a",
          items: { type: "object", properties: { b: { type: "string" } } },
        },
        m: {
          type: "object",
          description: "m",
          additionalProperties: { type: "object", properties: { c: { type: "string", description: " " } } },
        },
      },
    };
    expect(undescribed(schema, "")).toEqual([".a[].b", ".m{}.c"]);
  });
});
