// client-node 2.0 builds a new undici Agent for every request to a TLS API server (or one with
// skipTLSVerify), so every call opens its own connection (a TLS handshake each) and the Agent
// keeps it open, idle, until undici's keep-alive timeout: at a hundred calls a second that is
// hundreds of sockets with their buffers, and the churn of building them. This shares one Agent
// per set of TLS options instead, as client-go shares one transport.
import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import type { Cluster, KubeConfig } from "@kubernetes/client-node";

interface Closable {
  close(): Promise<void>;
}
type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Closable | undefined;

const shared = new WeakSet<KubeConfig>();

/**
 * Makes `kc` hand the same dispatcher to every request while the TLS options it is built from
 * (CA, client certificate and key, server name; read again for every request) stay the same; when
 * they change (a rotated certificate), the next request gets a new one and the old one is closed
 * once its requests finish. Idempotent. Returns `kc`.
 */
export function withSharedConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher;
  // A client-node without this (private) method is left as it is.
  if (typeof create !== "function" || shared.has(kc)) return kc;
  shared.add(kc);
  let current: { key: string; dispatcher: Closable | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const options = kc.createDispatcherOptions(cluster, agentOptions);
    const key = createHash("sha256")
      .update(JSON.stringify([cluster?.server, options]))
      .digest("hex");
    if (current?.key === key) return current.dispatcher;
    void current?.dispatcher?.close().catch(() => {});
    current = { key, dispatcher: create.call(kc, cluster, agentOptions) };
    return current.dispatcher;
  };
  return kc;
}
