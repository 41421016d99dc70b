import { afterAll, describe, expect, it } from "vitest";
import {
  AppsV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import pino from "pino";
import { join } from "node:path";
import { simulateRollouts, startDevCluster, type DevCluster } from "../../src/devcluster/index.ts";
import { borrowedLedger, installCrds, startOperator } from "../../src/controller/index.ts";
import {
  auditFileLedger,
  FileLedger,
  type Ledger,
  type LedgerEntry,
  type Receipt,
} from "../../src/ledger/index.ts";
import { jsonPatch } from "../../src/trail/index.ts";
import { createSampleChain } from "../api/samples.ts";
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

const IMAGE = "registry.example.com/serving/vllm@sha256:";
const digestFor = (round: number): string => `${IMAGE}${round.toString(16).repeat(64).slice(0, 64)}`;

/** A Deployment we do not own that opts in by label: its rollout state lives in an annotation. */
function labelledDeployment(): KubernetesObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "support-chat-labelled",
      namespace: "ml",
      labels: { "modelchain.io/model-version": "mistral-7b-support-v2" },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "support-chat-labelled" } },
      template: {
        metadata: {
          labels: { app: "support-chat-labelled", "modelchain.io/model-version": "mistral-7b-support-v2" },
        },
        spec: { containers: [{ name: "server", image: digestFor(1) }] },
      },
    },
  } as KubernetesObject;
}

/** One change per round to both workloads: the image on even rounds, the serving args on odd ones. */
async function changeBoth(cluster: DevCluster, round: number): Promise<void> {
  const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  const custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const mdBody =
    round % 2 === 0
      ? { spec: { image: digestFor(round) } }
      : { spec: { serving: { args: ["--round", String(round)] } } };
  await custom.patchNamespacedCustomObject(
    {
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modeldeployments",
      name: "support-chat",
      body: mdBody,
    },
    merge,
  );
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const current = await apps.readNamespacedDeployment({ name: "support-chat-labelled", namespace: "ml" });
  const container = current.spec?.template.spec?.containers[0] ?? { name: "server" };
  const changed =
    round % 2 === 0
      ? { ...container, image: digestFor(round) }
      : { ...container, args: ["--round", String(round)] };
  await apps.patchNamespacedDeployment(
    {
      name: "support-chat-labelled",
      namespace: "ml",
      body: { spec: { template: { spec: { containers: [changed] } } } },
    },
    merge,
  );
}

/** What each workload runs now, as its rollout entries name it. */
function currentImages(cluster: DevCluster): Record<string, Record<string, string>> {
  const md = cluster.store.get("modelchain.io/v1alpha1/modeldeployments", "ml", "support-chat");
  const d = cluster.store.get("apps/v1/deployments", "ml", "support-chat-labelled");
  const containers: Array<{ name: string; image: string }> = d?.["spec"]?.template?.spec?.containers ?? [];
  return {
    ModelDeployment: { server: String(md?.["spec"]?.image) },
    Deployment: Object.fromEntries(containers.map((c) => [c.name, c.image])),
  };
}

/** Revisions 1..n, each once, and for each rollout exactly the changes its predecessor implies. */
function checkRollouts(all: LedgerEntry[], subjectKind: string, images: Record<string, string>): void {
  const of = (kind: string) => all.filter((e) => e.kind === kind && e.subject.kind === subjectKind);
  const starts = of("RolloutStarted").sort((a, b) => Number(a.data["revision"]) - Number(b.data["revision"]));
  expect(
    starts.map((e) => e.data["revision"]),
    subjectKind,
  ).toEqual(starts.map((_, i) => i + 1));
  expect(starts.length, subjectKind).toBeGreaterThan(2);
  for (let i = 1; i < starts.length; i++) {
    const [prev, cur] = [starts[i - 1] as LedgerEntry, starts[i] as LedgerEntry];
    const revision = cur.data["revision"];
    const label = `${subjectKind} revision ${String(revision)}`;
    const changes = (kind: string) =>
      of(kind)
        .filter((e) => e.data["revision"] === revision)
        .map((e) => [e.data["from"], e.data["to"]]);
    const same = (field: string) => JSON.stringify(prev.data[field]) === JSON.stringify(cur.data[field]);
    expect(changes("ImageDigestChanged"), label).toEqual(
      same("images") ? [] : [[prev.data["images"], cur.data["images"]]],
    );
    expect(changes("ConfigChanged"), label).toEqual(
      same("configHash") ? [] : [[prev.data["configHash"], cur.data["configHash"]]],
    );
    // The diff is the one between the configs the two RolloutStarted entries recorded.
    const diffs = of("ConfigChanged")
      .filter((e) => e.data["revision"] === revision)
      .map((e) => e.data["diff"]);
    const expected = jsonPatch(prev.data["config"], cur.data["config"]);
    expect(diffs, label).toEqual(same("configHash") ? [] : [expected]);
    if (!same("configHash")) expect(expected.length, label).toBeGreaterThan(0);
  }
  expect(starts.at(-1)?.data["images"], subjectKind).toEqual(images);
  expect(
    of("RolloutCompleted").some((e) => e.data["revision"] === starts.length),
    subjectKind,
  ).toBe(true);
}

async function patchBase(cluster: DevCluster, body: object, strategy: PatchStrategy): Promise<void> {
  await cluster.kubeConfig.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
    {
      group: "modelchain.io",
      version: "v1alpha1",
      namespace: "ml",
      plural: "modelversions",
      name: "mistral-7b-base",
      body,
    },
    setHeaderOptions("Content-Type", strategy),
  );
}

/**
 * Revokes the base model, then takes spec.revoked away again (no webhook here), each under a
 * faulty ledger and an operator that stops at a random moment; then a sound operator settles.
 * Returns the entries appended meanwhile.
 */
async function revokeThroughFaults(
  cluster: DevCluster,
  ledger: Ledger,
  faulty: () => Promise<{ stop(): Promise<void> }>,
): Promise<LedgerEntry[]> {
  const from = await ledger.size();
  const since = async (kind: string) => {
    for (let i = from; i < (await ledger.size()); i++)
      if ((await ledger.get(i)).envelope.entry.kind === kind) return true;
    return false;
  };
  // The field is removed only once some operator has seen it (a revocation no operator ever saw
  // cannot be in the ledger); until then the faulty operator keeps running, however slow.
  const steps: Array<[() => Promise<void>, () => Promise<boolean>]> = [
    [
      () => patchBase(cluster, { spec: { revoked: { reason: "weights leaked" } } }, PatchStrategy.MergePatch),
      () => since("ModelVersionRevoked"),
    ],
    [async () => undefined, async () => true],
    [
      () => patchBase(cluster, [{ op: "remove", path: "/spec/revoked" }], PatchStrategy.JsonPatch),
      async () => true,
    ],
    [async () => undefined, async () => true],
  ];
  for (const [step, seen] of steps) {
    const operator = await faulty();
    await step();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 300 && !(await seen()); i++) await new Promise((r) => setTimeout(r, 50));
    await operator.stop();
  }
  const sound = await startOperator({
    kubeConfig: cluster.kubeConfig,
    ledger: borrowedLedger(ledger),
    cluster: "test",
    log: pino({ level: "silent" }),
    progressPollMs: 50,
  });
  for (let i = 0; i < 200 && !(await since("RevokedModelInUse")); i++)
    await new Promise((r) => setTimeout(r, 50));
  // Then until the ledger is quiet and each entry's Event is out (Events follow their appends).
  const evented = async () => {
    const messages = cluster.store.list("/v1/events").map((e) => String(e["message"]));
    const size = await ledger.size();
    for (let i = 0; i < size; i++) if (!messages.some((m) => m.endsWith(`(ledger entry ${i})`))) return false;
    return true;
  };
  let size = -1;
  for (let i = 0; i < 100 && (size !== (await ledger.size()) || !(await evented())); i++) {
    size = await ledger.size();
    await new Promise((r) => setTimeout(r, 500));
  }
  await sound.stop();
  const added: LedgerEntry[] = [];
  for (let i = from; i < (await ledger.size()); i++) added.push((await ledger.get(i)).envelope.entry);
  return added;
}

const state = tempDir("modelchain-exactly-once-");
afterAll(() => state.remove());

async function applySamples(cluster: DevCluster): Promise<void> {
  await installCrds(cluster.kubeConfig);
  await createSampleChain(cluster.kubeConfig);
  await KubernetesObjectApi.makeApiClient(cluster.kubeConfig).create(labelledDeployment());
}

describe("exactly once, nothing lost, for both rollout stores", () => {
  it.each([42, 7, 2026])(
    "records every rollout, image and config change once across injected ledger faults and operator restarts, in ModelDeployment status and in a labelled Deployment's annotation, and a revocation once, before its use, not undone by removing the field (seed %i)",
    async (seed) => {
      const cluster = await startDevCluster({ uidSeed: `exactly-once-${seed}` });
      const stopSimulation = simulateRollouts(cluster.store);
      const dir = join(state.dir, String(seed));
      const ledger = await FileLedger.open(dir, { warn: () => {} });
      const random = seeded(seed);
      const operatorWith = (l: Ledger) =>
        startOperator({
          kubeConfig: cluster.kubeConfig,
          ledger: borrowedLedger(l),
          cluster: "test",
          log: pino({ level: "silent" }),
          progressPollMs: 50,
        });
      try {
        await applySamples(cluster);
        const rounds = 8;
        for (let round = 1; round <= rounds; round++) {
          const operator = await operatorWith(flaky(ledger, random));
          await changeBoth(cluster, round);
          // Stop ("crash") after a random moment: sometimes mid-rollout, sometimes after it settled.
          await new Promise((r) => setTimeout(r, 50 + random() * 400));
          await operator.stop();
        }
        const final = await operatorWith(ledger);
        const settled = async () => {
          const size = await ledger.size();
          const all: LedgerEntry[] = [];
          for (let i = 0; i < size; i++) all.push((await ledger.get(i)).envelope.entry);
          const images = currentImages(cluster);
          return ["ModelDeployment", "Deployment"].every((kind) => {
            const last = all.filter((e) => e.kind === "RolloutStarted" && e.subject.kind === kind).at(-1);
            const completed = all.some(
              (e) =>
                e.kind === "RolloutCompleted" &&
                e.subject.kind === kind &&
                e.key.endsWith(`/${String(last?.data["revision"])}-${String(last?.data["templateHash"])}`),
            );
            return completed && JSON.stringify(last?.data["images"]) === JSON.stringify(images[kind]);
          });
        };
        for (let i = 0; i < 200 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 500));
        await final.stop();

        const all: LedgerEntry[] = [];
        for (let i = 0; i < (await ledger.size()); i++) all.push((await ledger.get(i)).envelope.entry);
        // Changes that landed while the operator was down coalesce into one rollout, so the
        // number of rollouts is not fixed; what is fixed is checked per store.
        const images = currentImages(cluster);
        checkRollouts(all, "ModelDeployment", images["ModelDeployment"] ?? {});
        checkRollouts(all, "Deployment", images["Deployment"] ?? {});
        expect(all.filter((e) => e.kind === "ModelVersionRegistered")).toHaveLength(2);
        all.push(...(await revokeThroughFaults(cluster, ledger, () => operatorWith(flaky(ledger, random)))));
        const once = (kind: string) => all.filter((e) => e.kind === kind);
        expect(once("ModelVersionRevoked"), "revoked once, not undone by removing spec.revoked").toHaveLength(
          1,
        );
        expect(once("RevokedModelInUse")).toHaveLength(1);
        expect(once("ModelVersionReinstated")).toHaveLength(0);
        expect(all.indexOf(once("ModelVersionRevoked")[0] as LedgerEntry)).toBeLessThan(
          all.indexOf(once("RevokedModelInUse")[0] as LedgerEntry),
        );
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
    90_000,
  );
});
