// Start-up chores against a cluster: is it reachable, and are our CRDs installed.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  VersionApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { crdFiles } from "../api/index.ts";
import { describeKubeError, kubeErrorStatus } from "../kube/index.ts";
import { FIELD_MANAGER } from "./kube.ts";

export type ClusterProbe =
  | { ok: true; server: string; version: string }
  | { ok: false; reason: "unreachable" | "credentials-refused"; problem: string };

/** Rejects after `ms` with "no answer within ms ms"; `clear` cancels the timer. */
function deadline(ms: number): { promise: Promise<never>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  );
  return { promise, clear: () => clearTimeout(timer) };
}

/**
 * The server's version, or why it could not be reached within `timeoutMs`. /version answers
 * anyone, so a namespace list (one item) then checks that the credentials are accepted: 401 or
 * 403 there is `credentials-refused`, one line naming the status and the API server's message.
 */
export async function probeCluster(kc: KubeConfig, timeoutMs = 5000): Promise<ClusterProbe> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined)
    return { ok: false, reason: "unreachable", problem: "no current cluster in the kubeconfig" };
  const timeout = deadline(timeoutMs);
  try {
    const info = await Promise.race([kc.makeApiClient(VersionApi).getCode(), timeout.promise]);
    await Promise.race([kc.makeApiClient(CoreV1Api).listNamespace({ limit: 1 }), timeout.promise]);
    return { ok: true, server, version: info.gitVersion };
  } catch (e: unknown) {
    const status = kubeErrorStatus(e);
    const refused = status === 401 || status === 403;
    const user = kc.getCurrentUser()?.name;
    const problem = refused
      ? `${server} refused the credentials of ${user === undefined ? "the current user" : `user ${JSON.stringify(user)}`} (context ${JSON.stringify(kc.getCurrentContext())}): ${describeKubeError(e)}`
      : `${server}: ${describeKubeError(e)}`;
    return { ok: false, reason: refused ? "credentials-refused" : "unreachable", problem };
  } finally {
    timeout.clear();
  }
}

/**
 * Server-side applies the CRDs generated from src/api, then waits until they are Established.
 * They go through the client's model (loadYaml), or enum/default keywords would be dropped.
 */
export async function installCrds(kc: KubeConfig, timeoutMs = 30_000): Promise<string[]> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const text of crdFiles().values()) {
    const crd = loadYaml<V1CustomResourceDefinition>(text);
    await objects.patch(crd, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    names.push(crd.metadata?.name ?? "");
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if ((crd.status?.conditions ?? []).some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return names;
}
