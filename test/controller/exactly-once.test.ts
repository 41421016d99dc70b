import { afterAll, describe, expect, it } from "vitest";
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import pino from "pino";
import { parseAllDocuments } from "yaml";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { simulateRollouts, startDevCluster } from "../../src/devcluster/index.ts";
import { borrowedLedger, installCrds, startOperator } from "../../src/controller/index.ts";
import {
  auditFileLedger,
  FileLedger,
  type Ledger,
  type LedgerEntry,
  type Receipt,
} from "../../src/ledger/index.ts";
import { SAMPLES } from "../api/samples.ts";
import { tempDir } from "../ledger/fixtures.ts";

/** A ledger that fails on purpose: before appending, or after appending but before answering (a lost acknowledgement). */
function flaky(inner: Ledger, random: () => number): Ledger {
  return {
    ...inner,
    get: (i) => inner.get(i),
    size: () => inner.size(),
    root: (n) => inner.root(n),
    inclusionProof: (i, n) => inner.inclusionProof(i, n),
    consistencyProof: (a, b) => inner.consistencyProof(a, b),
    lookup: (k) => inner.lookup(k),
    checkpoint: () => inner.checkpoint(),
    close: () => inner.close(),
    async append(entries: readonly LedgerEntry[]): Promise<Receipt[]> {
      const roll = random();
      if (roll < 0.2) throw new Error("injected: ledger unreachable");
      const receipts = await inner.append(entries);
      if (roll < 0.35) throw new Error("injected: acknowledgement lost after the append");
      return receipts;
    },
  };
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const state = tempDir("modelchain-exactly-once-");
afterAll(() => state.remove());

describe("exactly once, nothing lost", () => {
  it.each([42, 7, 2026])(
    "records every rollout, image and config change once across injected ledger faults and operator restarts (seed %i)",
    async (seed) => {
      const cluster = await startDevCluster({ uidSeed: `exactly-once-${seed}` });
      const stopSimulation = simulateRollouts(cluster.store);
      const dir = join(state.dir, String(seed));
      const ledger = await FileLedger.open(dir, { warn: () => {} });
      const random = seeded(seed);
      try {
        await installCrds(cluster.kubeConfig);
        const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
        for (const file of [
          "namespace.yaml",
          "trust-policy.yaml",
          "base-model.yaml",
          "fine-tuned.yaml",
          "deployment.yaml",
        ]) {
          for (const d of parseAllDocuments(readFileSync(join(SAMPLES, file), "utf8")))
            await objects.create(d.toJS() as KubernetesObject);
        }
        const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
        const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
        const rounds = 8;
        for (let round = 1; round <= rounds; round++) {
          const operator = await startOperator({
            kubeConfig: cluster.kubeConfig,
            ledger: borrowedLedger(flaky(ledger, random)),
            cluster: "test",
            log: pino({ level: "silent" }),
            progressPollMs: 50,
          });
          const body =
            round % 2 === 0
              ? {
                  spec: {
                    image: `registry.example.com/serving/vllm@sha256:${round.toString(16).repeat(64).slice(0, 64)}`,
                  },
                }
              : { spec: { serving: { args: ["--round", String(round)] } } };
          await custom.patchNamespacedCustomObject(
            {
              group: "modelchain.io",
              version: "v1alpha1",
              namespace: "ml",
              plural: "modeldeployments",
              name: "support-chat",
              body,
            },
            merge,
          );
          // Stop ("crash") after a random moment: sometimes mid-rollout, sometimes after it settled.
          await new Promise((r) => setTimeout(r, 50 + random() * 400));
          await operator.stop();
        }
        const final = await startOperator({
          kubeConfig: cluster.kubeConfig,
          ledger: borrowedLedger(ledger),
          cluster: "test",
          log: pino({ level: "silent" }),
          progressPollMs: 50,
        });
        const settled = async () => {
          const md = cluster.store.get("modelchain.io/v1alpha1/modeldeployments", "ml", "support-chat");
          return (
            md?.["status"]?.rollouts?.at(-1)?.phase === "Completed" &&
            md["spec"]["image"] === md["status"].rollouts.at(-1).image
          );
        };
        for (let i = 0; i < 200 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 500));
        await final.stop();

        const all: LedgerEntry[] = [];
        for (let i = 0; i < (await ledger.size()); i++) all.push((await ledger.get(i)).envelope.entry);
        const of = (kind: string) => all.filter((e) => e.kind === kind);
        // Changes that landed while the operator was down coalesce into one rollout, so the
        // number of rollouts is not fixed; what is fixed: revisions 1..n, each once, and for
        // each rollout exactly the change entries its predecessor's image and config imply.
        const starts = of("RolloutStarted").sort(
          (a, b) => Number(a.data["revision"]) - Number(b.data["revision"]),
        );
        expect(starts.map((e) => e.data["revision"])).toEqual(starts.map((_, i) => i + 1));
        expect(starts.length).toBeGreaterThan(rounds / 2);
        for (let i = 1; i < starts.length; i++) {
          const [prev, cur] = [starts[i - 1] as LedgerEntry, starts[i] as LedgerEntry];
          const revision = cur.data["revision"];
          const images = of("ImageDigestChanged").filter((e) => e.data["revision"] === revision);
          const configs = of("ConfigChanged").filter((e) => e.data["revision"] === revision);
          expect(
            images.map((e) => [e.data["from"], e.data["to"]]),
            `revision ${String(revision)}`,
          ).toEqual(
            prev.data["image"] === cur.data["image"] ? [] : [[prev.data["image"], cur.data["image"]]],
          );
          expect(
            configs.map((e) => [e.data["from"], e.data["to"]]),
            `revision ${String(revision)}`,
          ).toEqual(
            prev.data["configHash"] === cur.data["configHash"]
              ? []
              : [[prev.data["configHash"], cur.data["configHash"]]],
          );
        }
        expect(of("ImageDigestChanged").length + of("ConfigChanged").length).toBeGreaterThanOrEqual(
          starts.length - 1,
        );
        const md = cluster.store.get("modelchain.io/v1alpha1/modeldeployments", "ml", "support-chat");
        expect(starts.at(-1)?.data["image"]).toBe(md?.["spec"]["image"]);
        expect(of("RolloutCompleted").some((e) => e.data["revision"] === starts.length)).toBe(true);
        expect(of("ModelVersionRegistered")).toHaveLength(2);
        // Every entry also became a Kubernetes Event, even one whose acknowledgement was lost
        // (its retry comes back as a duplicate).
        const messages = cluster.store.list("/v1/events").map((e) => String(e["message"]));
        for (let i = 0; i < all.length; i++)
          expect(
            messages.some((m) => m.endsWith(`(ledger entry ${i})`)),
            `Event for ledger entry ${i} (${all[i]?.kind})`,
          ).toBe(true);
        await ledger.close();
        const audit = await auditFileLedger(dir);
        expect(audit.problem, "no key recorded twice, every entry intact").toBeUndefined();
      } finally {
        stopSimulation();
        await cluster.stop();
      }
    },
    60_000,
  );
});
