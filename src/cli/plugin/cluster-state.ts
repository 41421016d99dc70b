// The webhook's view of a live cluster, for the kubectl plugin: the same cache the webhook
// keeps, filled by the same informers through the current kubeconfig context, plus the
// ledger's facts when a ledger is named. Nothing is written to the cluster.
import type { KubeConfig } from "@kubernetes/client-node";
import type { ModelVersion } from "../../api/index.ts";
import { openLedger } from "../../ledger/index.ts";
import { VerifiedCache } from "../../webhook/cache.ts";
import { readLedgerFacts } from "../../webhook/source-dir.ts";
import { watchKubeSource, type KubeSource } from "../../webhook/source-kube.ts";
import { modelchainVocabulary, type CompiledPolicy } from "../../webhook/vocabulary.ts";
import { CheckFailedError } from "../output.ts";

export interface ClusterState {
  cache: VerifiedCache<ModelVersion, CompiledPolicy>;
  source: KubeSource;
  close(): Promise<void>;
}

/** Fills the cache from the cluster; fails, naming the informer, if it has not listed within `timeoutMs`. */
export async function clusterState(
  kc: KubeConfig,
  ledgerUrl?: string,
  timeoutMs = 15_000,
): Promise<ClusterState> {
  const cache = new VerifiedCache(modelchainVocabulary);
  const source = watchKubeSource({ kubeConfig: kc, cache, onError: () => undefined });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  const outcome = await Promise.race([source.synced.then(() => "synced" as const), late]);
  clearTimeout(timer);
  if (outcome === "late") {
    await source.stop();
    throw new CheckFailedError(
      `cannot read the cluster through context ${JSON.stringify(kc.getCurrentContext())}: ${source.problem() ?? "informers not synced"}`,
    );
  }
  if (ledgerUrl !== undefined) {
    try {
      const ledger = await openLedger(ledgerUrl, { readOnly: true });
      try {
        cache.setLedgerFacts(await readLedgerFacts(ledger));
      } finally {
        await ledger.close();
      }
    } catch (e: unknown) {
      // The informers' watches would keep the process alive after the error is reported.
      await source.stop();
      throw e;
    }
  }
  return { cache, source, close: () => source.stop() };
}
