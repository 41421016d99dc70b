// The Pod and container fields a ModelDeployment embeds, converted from the Kubernetes OpenAPI v3
// document into CRD structural schemas (pure): $refs inlined, `allOf: [$ref]` unwrapped with the
// field's own description kept, IntOrString and Quantity in their CRD forms
// (x-kubernetes-int-or-string), and what a CRD may not carry or should not apply dropped:
// `default` (Go zero values; a CRD default would rewrite what users stored), strategic-merge-patch
// and union extensions. scripts/gen-kube-schemas.ts writes the result to src/api/kube-schemas.json.

type Json = Record<string, unknown>;

/** The fields taken, by the upstream type that owns them. */
export const EMBEDDED = {
  podSpec: {
    type: "io.k8s.api.core.v1.PodSpec",
    fields: [
      "affinity",
      "nodeSelector",
      "runtimeClassName",
      "securityContext",
      "tolerations",
      "topologySpreadConstraints",
      "volumes",
    ],
  },
  container: {
    type: "io.k8s.api.core.v1.Container",
    fields: [
      "env",
      "livenessProbe",
      "readinessProbe",
      "resources",
      "securityContext",
      "startupProbe",
      "volumeMounts",
    ],
  },
} as const;

const KEPT = new Set([
  "description",
  "type",
  "format",
  "enum",
  "required",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
]);

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/** The grammar in Quantity's own description: <signedNumber><suffix>. */
export const QUANTITY_PATTERN =
  "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+))?$";
/** Only these of ObjectMeta are kept where a template embeds it (a PVC template: "No other fields are allowed"). */
const TEMPLATE_META_FIELDS = ["labels", "annotations"];

const isJson = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

class Converter {
  private readonly defs: Json;
  constructor(defs: Json) {
    this.defs = defs;
  }

  field(type: string, name: string): Json {
    const owner = this.def(type);
    const props = owner["properties"];
    const field = isJson(props) ? props[name] : undefined;
    if (!isJson(field)) throw new Error(`kube-schemas: ${type} has no field ${name}`);
    return this.convert(field, `${type}.${name}`);
  }

  private def(name: string): Json {
    const def = this.defs[name];
    if (!isJson(def)) throw new Error(`kube-schemas: no definition ${name}`);
    return def;
  }

  private convert(node: Json, at: string): Json {
    const ref = refOf(node);
    if (ref !== undefined) {
      const target = this.named(ref, at);
      const description = node["description"] ?? target["description"];
      return typeof description === "string" ? { ...target, description } : target;
    }
    const out: Json = {};
    for (const [key, value] of Object.entries(node)) {
      if (KEPT.has(key)) out[key] = structuredClone(value);
      else if (key === "items" && isJson(value)) out[key] = this.convert(value, `${at}[]`);
      else if (key === "additionalProperties" && isJson(value)) out[key] = this.convert(value, `${at}{}`);
      else if (key === "properties" && isJson(value)) out[key] = this.properties(value, at);
    }
    return out;
  }

  private properties(props: Json, at: string, only?: readonly string[]): Json {
    return Object.fromEntries(
      Object.entries(props)
        .filter(([name]) => only === undefined || only.includes(name))
        .map(([name, value]) => {
          if (!isJson(value)) throw new Error(`kube-schemas: ${at}.${name} is not a schema`);
          return [name, this.convert(value, `${at}.${name}`)];
        }),
    );
  }

  private named(ref: string, at: string): Json {
    const def = this.def(ref);
    const description = def["description"];
    const described = typeof description === "string" ? { description } : {};
    if (ref === INT_OR_STRING)
      return {
        ...described,
        "x-kubernetes-int-or-string": true,
        anyOf: [{ type: "integer" }, { type: "string" }],
      };
    if (ref === QUANTITY)
      return {
        ...described,
        "x-kubernetes-int-or-string": true,
        anyOf: [{ type: "integer" }, { type: "string" }],
        pattern: QUANTITY_PATTERN,
      };
    if (ref === OBJECT_META) {
      const props = def["properties"];
      if (!isJson(props)) throw new Error(`kube-schemas: ${ref} has no properties`);
      return { ...described, type: "object", properties: this.properties(props, at, TEMPLATE_META_FIELDS) };
    }
    return this.convert(def, at);
  }
}

/** `$ref` or `allOf: [{$ref}]` → the definition's name. */
function refOf(node: Json): string | undefined {
  const direct = node["$ref"];
  const allOf = node["allOf"];
  const wrapped =
    Array.isArray(allOf) && allOf.length === 1 && isJson(allOf[0]) ? allOf[0]["$ref"] : undefined;
  const ref = direct ?? wrapped;
  return typeof ref === "string" ? ref.slice(ref.lastIndexOf("/") + 1) : undefined;
}

/** The embedded fields' schemas from the upstream OpenAPI v3 document of the core/v1 group. */
export function kubeSchemas(openapi: unknown, source: string): Json {
  const components = isJson(openapi) ? openapi["components"] : undefined;
  const defs = isJson(components) ? components["schemas"] : undefined;
  if (!isJson(defs)) throw new Error("kube-schemas: the document has no components.schemas");
  const converter = new Converter(defs);
  const out: Json = { source };
  for (const [group, { type, fields }] of Object.entries(EMBEDDED))
    out[group] = Object.fromEntries(fields.map((f) => [f, converter.field(type, f)]));
  return out;
}
