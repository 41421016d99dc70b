// The chart's CRD templates, made from the generated crds/*.yaml (`make crds` writes both, and
// test/helm/chart.test.ts fails when they differ). They are templates, not files in the chart's
// crds/ folder, because Helm installs crds/ once and never upgrades it; as templates, behind
// `crds.enabled`, `helm upgrade` applies a changed schema like any other object.
import { parse, stringify } from "yaml";

/** Where the templates go, relative to the repository root. */
export const CHART_CRD_DIR = "helm/modelchain/templates/crds";

export class ChartCrdInputError extends Error {}

interface CrdHead {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: unknown;
}

function crdHead(file: string, text: string): CrdHead {
  const doc: unknown = parse(text);
  const o = (doc ?? {}) as Partial<Record<keyof CrdHead, unknown>>;
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  if (o.kind !== "CustomResourceDefinition" || typeof o.apiVersion !== "string")
    throw new ChartCrdInputError(`${file}: expected a CustomResourceDefinition, got kind ${String(o.kind)}`);
  if (typeof meta["name"] !== "string" || Object.keys(meta).length !== 1)
    throw new ChartCrdInputError(`${file}: metadata must hold only a name (the chart adds labels)`);
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: meta["name"] }, spec: o.spec };
}

/** Go template text is literal except `{{`: a description that contains one is printed, not run. */
const literal = (text: string): string => text.replaceAll("{{", '{{ "{{" }}');

/** One generated CRD file (`crds/<file>`) as a chart template behind `crds.enabled`. */
export function chartCrdTemplate(file: string, text: string): string {
  const crd = crdHead(file, text);
  return [
    `{{- /* Generated from crds/${file} by \`make crds\`; edit src/api/schemas.ts, not this file. */ -}}`,
    "{{- if .Values.crds.enabled }}",
    `apiVersion: ${crd.apiVersion}`,
    `kind: ${crd.kind}`,
    "metadata:",
    `  name: ${crd.metadata.name}`,
    '  labels: {{- include "modelchain.labels" . | nindent 4 }}',
    "  {{- if or .Values.crds.keep .Values.crds.annotations }}",
    "  annotations:",
    "    {{- if .Values.crds.keep }}",
    "    # helm uninstall leaves the CRD, and with it every object of its kind.",
    "    helm.sh/resource-policy: keep",
    "    {{- end }}",
    "    {{- with .Values.crds.annotations }}{{ toYaml . | nindent 4 }}{{ end }}",
    "  {{- end }}",
    literal(stringify({ spec: crd.spec }, { lineWidth: 0, aliasDuplicateObjects: false })).trimEnd(),
    "{{- end }}",
    "",
  ].join("\n");
}

/** Every generated CRD file as its chart template: template file name → text. */
export function chartCrdTemplates(crdFiles: Map<string, string>): Map<string, string> {
  return new Map([...crdFiles].map(([file, text]) => [file, chartCrdTemplate(file, text)]));
}
