// One meaning of "recorded": a ModelVersion whose spec was edited (and properly re-signed) after
// its registration is reported the same way by the controller (status) and the webhook (denial).
import { afterAll, describe, expect, it } from "vitest";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import pino from "pino";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { simulateRollouts, startDevCluster } from "../../src/devcluster/index.ts";
import { borrowedLedger, installCrds, startOperator } from "../../src/controller/index.ts";
import { FileLedger } from "../../src/ledger/index.ts";
import { signSpec } from "../../src/lineage/index.ts";
import { specDigest, type ModelVersion } from "../../src/api/index.ts";
import { admissionDecision } from "../../src/webhook/decision.ts";
import {
  readLedgerFacts,
  startKubeSource,
  VerifiedCache,
  modelchainVocabulary,
} from "../../src/webhook/index.ts";
import { createSampleChain, SAMPLES } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { request } from "../webhook/fixtures.ts";

const state = tempDir("modelchain-recorded-");
afterAll(() => state.remove());

const MV_PATH = "modelchain.io/v1alpha1/modelversions";

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("a spec edited after registration", () => {
  it("is refused by the controller's Verified condition and the webhook's denial with the same reason", async () => {
    const cluster = await startDevCluster({ uidSeed: "recorded" });
    const stopSimulation = simulateRollouts(cluster.store);
    const ledger = await FileLedger.open(state.dir, { warn: () => {} });
    await installCrds(cluster.kubeConfig);
    const operator = await startOperator({
      kubeConfig: cluster.kubeConfig,
      ledger: borrowedLedger(ledger),
      cluster: "test",
      log: pino({ level: "silent" }),
      progressPollMs: 50,
    });
    try {
      await createSampleChain(cluster.kubeConfig);
      const condition = () =>
        cluster.store
          .get(MV_PATH, "ml", "mistral-7b-support-v2")
          ?.["status"]?.conditions?.find((c: { type: string }) => c.type === "Verified") as
          { status: string; message: string } | undefined;
      await waitFor("Verified=True", () => (condition()?.status === "True" ? true : undefined));

      // A legitimate-looking edit: a new artifact digest, signed again with the trusted key.
      const mv = cluster.store.get(MV_PATH, "ml", "mistral-7b-support-v2") as unknown as ModelVersion;
      const registered = specDigest(mv.spec);
      const key = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));
      const edited = {
        ...mv.spec,
        artifact: { ...mv.spec.artifact, digest: `sha256:${"e".repeat(64)}` },
        signatures: [],
      };
      const spec = { ...edited, signatures: [signSpec(edited, key)] };
      await cluster.kubeConfig.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
        {
          group: "modelchain.io",
          version: "v1alpha1",
          namespace: "ml",
          plural: "modelversions",
          name: mv.metadata.name,
          body: { spec },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      const current = specDigest(spec);
      const refused = await waitFor("Verified=False", () => {
        const c = condition();
        return c?.status === "False" ? c : undefined;
      });
      const expected = `lineage: ml/mistral-7b-support-v2 spec digest ${current} differs from the recorded ${registered} (tampered after registration?)`;
      expect(refused.message).toContain(expected);

      // The webhook, fed by informers from the same cluster and the same ledger.
      const cache = new VerifiedCache(modelchainVocabulary);
      const source = await startKubeSource({ kubeConfig: cluster.kubeConfig, cache, onError: () => {} });
      try {
        cache.setLedgerFacts(await readLedgerFacts(ledger));
        const md = cluster.store.get("modelchain.io/v1alpha1/modeldeployments", "ml", "support-chat");
        const decision = admissionDecision(request("ModelDeployment", md), cache.state());
        expect(decision).toMatchObject({
          allowed: false,
          reason: "spec-digest-mismatch",
          checkFailed: "specDigestMatchesLedger",
        });
        expect(decision.message).toContain(expected);
      } finally {
        await source.stop();
      }
    } finally {
      await operator.stop();
      stopSimulation();
      await ledger.close();
      await cluster.stop();
    }
  }, 60_000);
});
