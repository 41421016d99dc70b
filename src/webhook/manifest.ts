// The ValidatingWebhookConfiguration that points the API server at this webhook. The plain
// manifest in config/webhook/ is this function's output with the defaults (a test keeps them
// equal); the Helm chart templates the same fields.

import type {
  AdmissionregistrationV1WebhookClientConfig,
  V1RuleWithOperations,
  V1ValidatingWebhook,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";

export type FailurePolicy = "Fail" | "Ignore";

export interface WebhookManifestOptions {
  name?: string;
  /** modelchain's own namespace: excluded from admission so the webhook can always restart. */
  namespace?: string;
  serviceName?: string;
  /** Instead of a Service (envtest, out-of-cluster): an https URL ending in /validate. */
  url?: string;
  /** Base64 PEM of the CA that signed the serving certificate; cert-manager can inject it. */
  caBundle?: string;
  failurePolicy?: FailurePolicy;
  /** The API server gives up after this; lookups on a cache miss use a shorter deadline. */
  timeoutSeconds?: number;
}

export const DEFAULT_TIMEOUT_SECONDS = 5;

function clientConfig(
  o: WebhookManifestOptions,
  namespace: string,
): AdmissionregistrationV1WebhookClientConfig {
  const target =
    o.url !== undefined
      ? { url: o.url }
      : { service: { name: o.serviceName ?? "modelchain-webhook", namespace, path: "/validate", port: 443 } };
  return o.caBundle === undefined ? target : { ...target, caBundle: o.caBundle };
}

function webhook(
  name: string,
  rules: V1RuleWithOperations[],
  o: WebhookManifestOptions,
  extra: Partial<V1ValidatingWebhook>,
): V1ValidatingWebhook {
  const namespace = o.namespace ?? "modelchain-system";
  return {
    name,
    admissionReviewVersions: ["v1"],
    sideEffects: "NoneOnDryRun",
    failurePolicy: o.failurePolicy ?? "Fail",
    timeoutSeconds: o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    matchPolicy: "Equivalent",
    clientConfig: clientConfig(o, namespace),
    namespaceSelector: {
      matchExpressions: [
        { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", namespace] },
      ],
    },
    rules,
    ...extra,
  };
}

const OPERATIONS = ["CREATE", "UPDATE"];

/**
 * The gating webhooks are not called for an update of an object that is being deleted and whose
 * spec stays as it was: what is left of such an object's life is finalizer bookkeeping, and with
 * failurePolicy Fail a webhook that is down would otherwise keep every finalizer in place (the
 * operator's own, or the one a person removes by hand) and the object stuck in Terminating. A
 * terminating Deployment is not rolled out by its controller, nor a terminating ModelDeployment
 * by the operator, so a spec change there would serve nothing; it is judged all the same.
 */
export const FINALIZING_UPDATES_SKIPPED = {
  name: "skip-finalizing-updates",
  expression:
    "!(request.operation == 'UPDATE' && has(object.metadata.deletionTimestamp) && has(object.spec) && has(oldObject.spec) && object.spec == oldObject.spec)",
};
const labelled = () => ({ matchExpressions: [{ key: "modelchain.io/model-version", operator: "Exists" }] });

/**
 * Changes that are only recorded, never judged: deletes, and the ConfigMaps a serving config
 * reads. They fail open (Ignore): modelchain being down must not block a delete or every
 * ConfigMap write in the cluster, at the price of an unrecorded change while it is.
 */
function recordingWebhooks(o: WebhookManifestOptions): V1ValidatingWebhook[] {
  const rule = (apiGroups: string[], apiVersions: string[], operations: string[], resources: string[]) => ({
    apiGroups,
    apiVersions,
    operations,
    resources,
    scope: "Namespaced",
  });
  const changes = webhook(
    "changes.webhook.modelchain.io",
    [
      rule(["modelchain.io"], ["v1alpha1"], ["DELETE"], ["modeldeployments", "modelversions"]),
      rule([""], ["v1"], ["CREATE", "UPDATE", "DELETE"], ["configmaps"]),
    ],
    o,
    { failurePolicy: "Ignore" },
  );
  const deletes = webhook(
    "deployment-deletes.webhook.modelchain.io",
    [rule(["apps"], ["v1"], ["DELETE"], ["deployments"])],
    o,
    { failurePolicy: "Ignore", objectSelector: labelled() },
  );
  return [changes, deletes];
}

export function validatingWebhookConfiguration(
  o: WebhookManifestOptions = {},
): V1ValidatingWebhookConfiguration {
  const models = webhook(
    "models.webhook.modelchain.io",
    [
      {
        apiGroups: ["modelchain.io"],
        apiVersions: ["v1alpha1"],
        operations: OPERATIONS,
        resources: ["modeldeployments", "modelversions"],
        scope: "Namespaced",
      },
    ],
    o,
    { matchConditions: [FINALIZING_UPDATES_SKIPPED] },
  );
  // Only Deployments that opted in by label are sent: the rest of the cluster never waits on us.
  const deployments = webhook(
    "deployments.webhook.modelchain.io",
    [
      {
        apiGroups: ["apps"],
        apiVersions: ["v1"],
        operations: OPERATIONS,
        resources: ["deployments"],
        scope: "Namespaced",
      },
    ],
    o,
    { objectSelector: labelled(), matchConditions: [FINALIZING_UPDATES_SKIPPED] },
  );
  const recorded = recordingWebhooks(o);
  const labels = { "app.kubernetes.io/name": "modelchain", "app.kubernetes.io/component": "webhook" };
  // Without a CA bundle, cert-manager's CA injector fills it from the serving Certificate.
  const inject = {
    "cert-manager.io/inject-ca-from": `${o.namespace ?? "modelchain-system"}/${o.serviceName ?? "modelchain-webhook"}`,
  };
  const annotations = o.caBundle === undefined && o.url === undefined ? { annotations: inject } : {};
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: o.name ?? "modelchain", labels, ...annotations },
    webhooks: [models, deployments, ...recorded],
  };
}
