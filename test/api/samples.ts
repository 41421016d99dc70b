import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

export const SAMPLES = join(import.meta.dirname, "..", "..", "samples");

/** Every object in a samples file (multi-document YAML). */
export function sampleObjects(file: string): Record<string, unknown>[] {
  const text = readFileSync(join(SAMPLES, file), "utf8");
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>);
}

export function sampleFiles(dir = ""): string[] {
  return readdirSync(join(SAMPLES, dir))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, f));
}

/**
 * Bad samples the API server refuses by the CRD schema alone, with what it says: they reach the
 * webhook and the operator only when sent to them directly (an AdmissionReview, a file).
 */
export const REFUSED_BY_SCHEMA: ReadonlyMap<string, RegExp> = new Map([
  ["bad/unpinned-image.yaml", /spec\.image: Invalid value: .*: must be pinned by digest/],
]);

/** The sample chain a user applies first: namespace, trust policy, base and fine-tuned model, deployment. */
export const SAMPLE_CHAIN = [
  "namespace.yaml",
  "trust-policy.yaml",
  "base-model.yaml",
  "fine-tuned.yaml",
  "deployment.yaml",
];

/** Creates every object of the sample chain through the API server. */
export async function createSampleChain(kubeConfig: KubeConfig): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const file of SAMPLE_CHAIN)
    for (const o of sampleObjects(file)) await objects.create(o as unknown as KubernetesObject);
}
