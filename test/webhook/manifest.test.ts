import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { validatingWebhookConfiguration } from "../../src/webhook/manifest.ts";

describe("ValidatingWebhookConfiguration", () => {
  it("the plain manifest in config/webhook equals the generator's defaults", () => {
    const file: unknown = parse(readFileSync("config/webhook/validating-webhook.yaml", "utf8"));
    expect(file).toEqual(validatingWebhookConfiguration());
  });

  it("defaults to failurePolicy Fail, v1 reviews, NoneOnDryRun, and excludes kube-system and its own namespace", () => {
    const config = validatingWebhookConfiguration({ namespace: "mc" });
    const hooks = config.webhooks ?? [];
    expect(hooks).toHaveLength(4);
    for (const [i, h] of hooks.entries()) {
      expect(h).toMatchObject({
        failurePolicy: i < 2 ? "Fail" : "Ignore",
        sideEffects: "NoneOnDryRun",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 5,
      });
      expect(h.namespaceSelector).toEqual({
        matchExpressions: [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "mc"] },
        ],
      });
    }
  });

  it("sends deletes and ConfigMap changes to a recording-only webhook that fails open", () => {
    const hooks = validatingWebhookConfiguration({ failurePolicy: "Fail" }).webhooks ?? [];
    const recorded = hooks.filter((h) => h.failurePolicy === "Ignore");
    expect(recorded.map((h) => h.name)).toEqual([
      "changes.webhook.modelchain.io",
      "deployment-deletes.webhook.modelchain.io",
    ]);
    const rules = recorded.flatMap((h) => h.rules ?? []);
    expect(rules.map((r) => [r.resources, r.operations])).toEqual([
      [["modeldeployments", "modelversions"], ["DELETE"]],
      [["configmaps"], ["CREATE", "UPDATE", "DELETE"]],
      [["deployments"], ["DELETE"]],
    ]);
    expect(recorded[1]?.objectSelector).toEqual({
      matchExpressions: [{ key: "modelchain.io/model-version", operator: "Exists" }],
    });
  });

  it("takes failurePolicy, timeout, URL and CA bundle", () => {
    const config = validatingWebhookConfiguration({
      failurePolicy: "Ignore",
      timeoutSeconds: 2,
      url: "https://127.0.0.1:9443/validate",
      caBundle: "Q0E=",
    });
    const hooks = config.webhooks ?? [];
    expect(hooks[0]).toMatchObject({
      failurePolicy: "Ignore",
      timeoutSeconds: 2,
      clientConfig: { url: "https://127.0.0.1:9443/validate", caBundle: "Q0E=" },
    });
  });
});
