// Which kubeconfig a command uses, the way kubectl picks it: --kubeconfig, else $KUBECONFIG, else
// ~/.kube/config, else the Pod's service account when running in a cluster. When none of them
// exists, client-node would quietly aim at http://localhost:8080; this says so instead.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { withSharedConnections } from "../kube/connections.ts";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeconfigFlags {
  kubeconfig?: string;
  context?: string;
}

/** No kubeconfig could be found or read; the message says which places were tried. */
export class NoKubeconfig extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NoKubeconfig";
  }
}

function inCluster(env: NodeJS.ProcessEnv): boolean {
  return (
    env["KUBERNETES_SERVICE_HOST"] !== undefined &&
    existsSync("/var/run/secrets/kubernetes.io/serviceaccount/token")
  );
}

/** Why no kubeconfig is found, or undefined when one of the usual places has one. */
export function missingKubeconfig(
  env: NodeJS.ProcessEnv = process.env,
  home = homedir(),
): string | undefined {
  const fromEnv = env["KUBECONFIG"];
  if (fromEnv !== undefined && fromEnv !== "") {
    const files = fromEnv.split(delimiter).filter((f) => f !== "");
    return files.some((f) => existsSync(f))
      ? undefined
      : `no kubeconfig: KUBECONFIG=${fromEnv} names no file`;
  }
  if (existsSync(join(home, ".kube", "config")) || inCluster(env)) return undefined;
  return "no kubeconfig: KUBECONFIG unset and ~/.kube/config missing";
}

/** The kubeconfig the flags, the environment or the Pod name, with --context applied. */
export function loadKubeConfig(flags: KubeconfigFlags): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig !== undefined) {
      if (!existsSync(flags.kubeconfig))
        throw new NoKubeconfig(`no kubeconfig: ${flags.kubeconfig} does not exist`);
      kc.loadFromFile(flags.kubeconfig);
    } else {
      const missing = missingKubeconfig();
      if (missing !== undefined) throw new NoKubeconfig(missing);
      kc.loadFromDefault();
    }
  } catch (e: unknown) {
    if (e instanceof NoKubeconfig) throw e;
    throw new NoKubeconfig(`kubeconfig not readable: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  if (flags.context !== undefined) {
    if (kc.getContextObject(flags.context) === null)
      throw new NoKubeconfig(`kubeconfig has no context ${JSON.stringify(flags.context)}`);
    kc.setCurrentContext(flags.context);
  }
  // Every command that talks to the API server (operator, webhook, plugin) reuses connections.
  return withSharedConnections(kc);
}
