// The mix of objects the webhook benches send: the sample ModelDeployment, a Deployment labelled
// with the sample ModelVersion (the real object the envtest API server returned, bench/fixtures,
// with its image pinned), and the signed sample ModelVersion (its signature is checked on every
// create). `--source dir:samples` admits all three, so the benches measure admissions.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelVersionSpec } from "../src/api/index.ts";
import { signSpec } from "../src/lineage/index.ts";
import { readManifestFile } from "../src/webhook/index.ts";

export const NAMESPACE = "ml";
const SAMPLES = join(import.meta.dirname, "..", "samples");

export interface BenchObject {
  label: string;
  group: string;
  version: string;
  kind: string;
  /** The plural the API server's REST path and AdmissionReview `resource` use. */
  resource: string;
  /** As a client would create it: no uid, resourceVersion, managedFields or status. */
  object: Record<string, unknown>;
}

function sample(file: string, kind: string): Record<string, unknown> {
  const found = readManifestFile(join(SAMPLES, file)).find((m) => m.object["kind"] === kind);
  if (found === undefined) throw new Error(`samples/${file} has no ${kind}`);
  return found.object;
}

function labelledDeployment(): Record<string, unknown> {
  const real = JSON.parse(
    readFileSync(join(import.meta.dirname, "fixtures", "real-deployment.json"), "utf8"),
  );
  const labels = { app: "serve-0", "modelchain.io/model-version": "mistral-7b-support-v2" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "serve-0", namespace: NAMESPACE, labels },
    spec: { ...real.spec, template: { ...real.spec.template, metadata: { labels } } },
  };
}

export function benchObjects(): BenchObject[] {
  return [
    {
      label: "ModelDeployment",
      group: "modelchain.io",
      version: "v1alpha1",
      kind: "ModelDeployment",
      resource: "modeldeployments",
      object: sample("deployment.yaml", "ModelDeployment"),
    },
    {
      label: "labelled Deployment",
      group: "apps",
      version: "v1",
      kind: "Deployment",
      resource: "deployments",
      object: labelledDeployment(),
    },
    {
      label: "signed ModelVersion",
      group: "modelchain.io",
      version: "v1alpha1",
      kind: "ModelVersion",
      resource: "modelversions",
      object: sample("fine-tuned.yaml", "ModelVersion"),
    },
  ];
}

/**
 * An AdmissionReview of a CREATE as kube-apiserver 1.36 sends it: the object with the fields the
 * API server has set by admission time (uid, creationTimestamp, generation, the creator's
 * managedFields), userInfo, options.
 */
export function createReview(o: BenchObject, uid: string): string {
  const metadata = o.object["metadata"] as Record<string, unknown>;
  const name = String(metadata["name"]);
  const gvk = { group: o.group, version: o.version, kind: o.kind };
  const gvr = { group: o.group, version: o.version, resource: o.resource };
  const apiVersion = o.group === "" ? o.version : `${o.group}/${o.version}`;
  const object = {
    ...o.object,
    metadata: {
      ...metadata,
      uid: "5d0a3c2e-7f51-4c1b-9d4e-2f6a8b0c1d3e",
      generation: 1,
      creationTimestamp: "2026-12-02T07:00:00Z",
      managedFields: [
        {
          manager: "kubectl-client-side-apply",
          operation: "Update",
          apiVersion,
          time: "2026-12-02T07:00:00Z",
          fieldsType: "FieldsV1",
          fieldsV1: { "f:metadata": { "f:labels": {} }, "f:spec": {} },
        },
      ],
    },
  };
  return JSON.stringify({
    kind: "AdmissionReview",
    apiVersion: "admission.k8s.io/v1",
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name,
      namespace: NAMESPACE,
      operation: "CREATE",
      userInfo: {
        username: "admin",
        uid: "admin-uid",
        groups: ["system:masters", "system:authenticated"],
      },
      object,
      oldObject: null,
      dryRun: false,
      options: {
        kind: "CreateOptions",
        apiVersion: "meta.k8s.io/v1",
        fieldManager: "kubectl-client-side-apply",
      },
    },
  });
}

/**
 * How the ModelVersions of a run differ: `distinct` (the default), each review creates another
 * version (its own name, spec and signature, signed here with the sample key), as a stream of
 * creates does, so no check can be answered from an earlier one; `repeated`, every review is the
 * sample itself, as re-applies and dry-run diffs of an unchanged manifest send it.
 */
export type VersionMix = "distinct" | "repeated";

export function versionMix(text: string | undefined): VersionMix {
  if (text === undefined || text === "distinct") return "distinct";
  if (text === "repeated") return "repeated";
  throw new Error(`BENCH_WEBHOOK_MV must be distinct or repeated, got ${JSON.stringify(text)}`);
}

const demoKey = () => createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));

/** Another version of a sample ModelVersion: `tag` in its name and version, signed again. */
function anotherVersion(o: BenchObject, tag: string, key: ReturnType<typeof demoKey>): BenchObject {
  const metadata = o.object["metadata"] as Record<string, unknown>;
  const spec = { ...(o.object["spec"] as ModelVersionSpec) };
  spec.version = `${spec.version}-${tag}`;
  // The signatures are not part of what is signed, so the sample's own may stay until replaced.
  spec.signatures = [signSpec(spec, key)];
  return {
    ...o,
    object: { ...o.object, metadata: { ...metadata, name: `${String(metadata["name"])}-${tag}` }, spec },
  };
}

/** `count` objects, `objects` in turn; with `distinct`, each ModelVersion another version (`tag`-i). */
export function objectStream(
  objects: readonly BenchObject[],
  count: number,
  tag: string,
  mix: VersionMix,
): BenchObject[] {
  const key = demoKey();
  return Array.from({ length: count }, (_, i) => {
    const o = objects[i % objects.length] as BenchObject;
    return o.kind === "ModelVersion" && mix === "distinct" ? anotherVersion(o, `${tag}-${i}`, key) : o;
  });
}

/** `count` review bodies, the objects in turn, each with its own review uid (`tag`-i). */
export function reviewBodies(
  objects: readonly BenchObject[],
  count: number,
  tag: string,
  mix: VersionMix,
): Buffer[] {
  return objectStream(objects, count, tag, mix).map((o, i) => Buffer.from(createReview(o, `${tag}-${i}`)));
}
