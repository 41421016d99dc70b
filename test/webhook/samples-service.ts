// The webhook service over real HTTPS, fed from a directory (samples/ by default) and judged by
// the real api and lineage components, with AdmissionReviews built as the API server sends them.
import { join } from "node:path";
import type { ModelVersion } from "../../src/api/index.ts";
import { startWebhookService, type WebhookService } from "../../src/webhook/service.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../src/webhook/vocabulary.ts";
import { post } from "./https-client.ts";
import { certDir } from "./tls-fixture.ts";

export const SAMPLES = join(import.meta.dirname, "..", "..", "samples");
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

export type SamplesService = WebhookService<ModelVersion, CompiledPolicy>;

export function startSamplesService(path = SAMPLES): Promise<SamplesService> {
  return startWebhookService({
    vocabulary: modelchainVocabulary,
    source: { type: "dir", path },
    cluster: "test",
    ...certDir(),
    port: 0,
    host: "127.0.0.1",
    log: quiet,
  });
}

const KINDS = {
  Deployment: { group: "apps", version: "v1", kind: "Deployment" },
  ModelDeployment: { group: "modelchain.io", version: "v1alpha1", kind: "ModelDeployment" },
  ModelVersion: { group: "modelchain.io", version: "v1alpha1", kind: "ModelVersion" },
};

export interface ReviewSpec {
  kind: keyof typeof KINDS;
  operation?: "CREATE" | "UPDATE" | "DELETE";
  namespace?: string;
  name?: string;
  object: unknown;
  oldObject?: unknown;
}

/** The AdmissionReview JSON text for one request. */
export function reviewText(r: ReviewSpec, uid = "u-1"): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: KINDS[r.kind],
      operation: r.operation ?? "CREATE",
      namespace: r.namespace ?? "ml",
      name: r.name ?? "x",
      object: r.object,
      ...(r.oldObject === undefined ? {} : { oldObject: r.oldObject }),
    },
  });
}

export interface Answer {
  status: number;
  allowed: boolean | undefined;
  message: string;
  text: string;
}

/** POSTs a review body; `allowed` and `message` come from the response when the status is 200. */
export async function send(port: number, body: string | Buffer): Promise<Answer> {
  const reply = await post(port, body);
  if (reply.status !== 200)
    return { status: reply.status, allowed: undefined, message: "", text: reply.text };
  const parsed = JSON.parse(reply.text) as { response: { allowed: boolean; status?: { message?: string } } };
  return {
    status: reply.status,
    allowed: parsed.response.allowed,
    message: parsed.response.status?.message ?? "",
    text: reply.text,
  };
}

export function labelledDeployment(
  name: string,
  image: string,
  modelVersion?: string,
): Record<string, unknown> {
  const labels: Record<string, string> = { app: name };
  if (modelVersion !== undefined) labels["modelchain.io/model-version"] = modelVersion;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "ml", labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "serve", image }] } },
    },
  };
}
