// Start-up chores against a cluster: is it reachable, and are our CRDs installed.
import {
  ApiextensionsV1Api,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  VersionApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { crdFiles } from "../api/index.ts";
import { FIELD_MANAGER } from "./kube.ts";

/** The server's version, or why it could not be reached within `timeoutMs`. */
export async function probeCluster(
  kc: KubeConfig,
  timeoutMs = 5000,
): Promise<{ ok: true; server: string; version: string } | { ok: false; problem: string }> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) return { ok: false, problem: "no current cluster in the kubeconfig" };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
  );
  try {
    const info = await Promise.race([kc.makeApiClient(VersionApi).getCode(), timeout]);
    return { ok: true, server, version: info.gitVersion };
  } catch (e: unknown) {
    return { ok: false, problem: `${server}: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    clearTimeout(timer);
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
