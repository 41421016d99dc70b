import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:https";
import { KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { skipWithoutAssets } from "./assets.ts";
import { REFUSED_BY_SCHEMA, sampleFiles, sampleObjects } from "../api/samples.ts";

const skip = skipWithoutAssets("CRDs against kube-apiserver");

function getJson(
  cp: ControlPlane,
  path: string,
  accept = "application/json",
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${cp.apiServerUrl}${path}`,
      { ca: cp.caPem, headers: { authorization: `Bearer ${cp.token}`, accept } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.message} ${JSON.stringify((e as { body?: unknown }).body ?? "")}`;
  return String(e);
}

describe.skipIf(skip)("CRDs against a real kube-apiserver", () => {
  let cp: ControlPlane;
  let objects: KubernetesObjectApi;
  beforeAll(async () => {
    cp = await startControlPlane();
    objects = KubernetesObjectApi.makeApiClient(cp.kubeConfig);
  });
  afterAll(async () => cp?.stop());

  it("accepts every sample, good and bad (bad ones fail lineage or admission, not the schema), but those the schema refuses", async () => {
    const all = [...sampleFiles(), ...sampleFiles("bad")]
      .filter((f) => !REFUSED_BY_SCHEMA.has(f))
      .flatMap((f) => sampleObjects(f).map((o) => ({ f, o })));
    const ordered = [
      ...all.filter(({ o }) => o["kind"] === "Namespace"),
      ...all.filter(({ o }) => o["kind"] !== "Namespace"),
    ];
    for (const { f, o } of ordered) {
      try {
        await objects.create(o as KubernetesObject);
      } catch (e: unknown) {
        throw new Error(`${f} ${String(o["kind"])}: ${errorText(e)}`, { cause: e });
      }
    }
    const mv = await objects.read({
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelVersion",
      metadata: { name: "mistral-7b-support-v2", namespace: "ml" },
    });
    expect((mv as { spec?: { datasets?: unknown[] } }).spec?.datasets).toHaveLength(2);
    const md = await objects.read({
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelDeployment",
      metadata: { name: "chat-unsigned", namespace: "ml" },
    });
    expect((md as { spec?: { progressDeadlineSeconds?: number } }).spec?.progressDeadlineSeconds).toBe(600);
  });

  it.each([...REFUSED_BY_SCHEMA])("refuses %s by its schema alone, saying why", async (file, says) => {
    for (const o of sampleObjects(file).filter((x) => x["kind"] !== "Namespace")) {
      const error = await objects.create(o as KubernetesObject).then(
        () => undefined,
        (e: unknown) => errorText(e),
      );
      expect(error).toMatch(says);
    }
  });

  it.each([
    [
      "a dataset digest that is not sha256",
      { datasets: [{ name: "d", uri: "s3://b/d", digest: "md5:0" }] },
      /spec\.datasets\[0\]\.digest/,
    ],
    [
      "an artifact URI with an unknown scheme",
      { artifact: { uri: "ftp://x/y", digest: `sha256:${"a".repeat(64)}` } },
      /spec\.artifact\.uri/,
    ],
    [
      "a missing artifact digest",
      { artifact: { uri: "oci://x/y" } },
      /spec\.artifact\.digest: Required value/,
    ],
  ])("rejects a ModelVersion with %s, naming the field", async (_what, specPatch, field) => {
    const base = sampleObjects("base-model.yaml")[0] as {
      metadata: Record<string, unknown>;
      spec: Record<string, unknown>;
    };
    const bad = {
      ...base,
      metadata: { name: `invalid-${Math.random().toString(36).slice(2, 8)}`, namespace: "ml" },
      spec: { ...base.spec, ...specPatch },
    };
    const error = await objects.create(bad as KubernetesObject).then(
      () => undefined,
      (e: unknown) => errorText(e),
    );
    expect(error).toMatch(field);
  });

  it("rejects a trust policy with an unknown mode", async () => {
    const policy = sampleObjects("trust-policy.yaml")[0] as { spec: Record<string, unknown> };
    const bad = { ...policy, metadata: { name: "bad-mode" }, spec: { ...policy.spec, mode: "block" } };
    const error = await objects.create(bad as KubernetesObject).then(
      () => undefined,
      (e: unknown) => errorText(e),
    );
    expect(error).toMatch(/spec\.mode: Unsupported value/);
  });

  it("rejects a trust policy whose namespace selector would select nothing (In without values)", async () => {
    const policy = sampleObjects("trust-policy.yaml")[0] as { spec: Record<string, unknown> };
    const namespaceSelector = { matchExpressions: [{ key: "team", operator: "In", values: [] }] };
    const bad = {
      ...policy,
      metadata: { name: "selects-nothing" },
      spec: { ...policy.spec, namespaceSelector },
    };
    const error = await objects.create(bad as KubernetesObject).then(
      () => undefined,
      (e: unknown) => errorText(e),
    );
    expect(error).toMatch(/values must be non-empty for In and NotIn/);
  });

  it("serves short names and printer columns", async () => {
    const discovery = await getJson(cp, "/apis/modelchain.io/v1alpha1");
    const resources = discovery.body["resources"] as Array<{ name: string; shortNames?: string[] }>;
    expect(
      Object.fromEntries(resources.filter((r) => !r.name.includes("/")).map((r) => [r.name, r.shortNames])),
    ).toEqual({
      modelversions: ["mv"],
      modeldeployments: ["md"],
      modeltrustpolicies: ["mtp"],
    });
    const table = await getJson(
      cp,
      "/apis/modelchain.io/v1alpha1/namespaces/ml/modelversions",
      "application/json;as=Table;v=v1;g=meta.k8s.io",
    );
    const columns = (table.body["columnDefinitions"] as Array<{ name: string }>).map((c) => c.name);
    expect(columns).toEqual(["Name", "Model", "Version", "Ready", "Verified", "Recorded", "Ledger", "Age"]);
    const rows = table.body["rows"] as Array<{ cells: unknown[] }>;
    expect(rows.find((r) => r.cells[0] === "mistral-7b-support-v2")?.cells.slice(1, 3)).toEqual([
      "mistral-7b-support",
      "2.0.0",
    ]);
  });
});
