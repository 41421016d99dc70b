// OMS verification on the webhook's hot path, against the ed25519 path in the same run.
//
// Two ModelVersions alike but for their signature: one signed by `modelchain sign` (ed25519 over
// the canonical spec), one carrying an OpenSSF Model Signing bundle written by the real
// model-signing tool (ECDSA P-256, `sign key`). Each review is decided by the webhook's own
// decision function over its verified cache, in three states:
//   warm      the cache's verdict memo holds the verdict (the steady state between changes);
//   recheck   the memo was just cleared (any informer event clears it), so the lineage is
//             verified again; the OMS bundle's verification is memoised per bundle digest;
//   first     (OMS only) a bundle never verified before: @sigstore/verify does the work.
// Prints p50/p99 per review in µs and the OMS/ed25519 ratio of each state.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelVersion, ModelTrustPolicy } from "../src/api/index.ts";
import { signSpec } from "../src/lineage/index.ts";
import { Registrations, Revocations } from "../src/trail/index.ts";
import { admissionDecision, modelchainVocabulary, requestFor, VerifiedCache } from "../src/webhook/index.ts";
import { directoryDigest, ecKey, signWithKey, workDir, writeModel } from "../test/pytools/model-signing.ts";

const ROUNDS = Number(process.env["BENCH_OMS_ROUNDS"] ?? 20_000);
const FIRST_ROUNDS = Number(process.env["BENCH_OMS_FIRST_ROUNDS"] ?? 300);
const SAMPLES = join(import.meta.dirname, "..", "samples");

function quantiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

function time(rounds: number, step: (i: number) => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = process.hrtime.bigint();
    step(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

function modelVersion(name: string, digest: string): ModelVersion {
  return {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelVersion",
    metadata: { name, namespace: "ml" },
    spec: { model: name, version: "1", artifact: { uri: `s3://models/${name}`, digest } },
  };
}

function setup() {
  const work = workDir("bench-oms");
  const model = join(work, "resnet");
  writeModel(model);
  const key = ecKey(work, "producer");
  const bundle = signWithKey(model, key);
  const digest = directoryDigest(model);
  const demoKey = createPrivateKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pem")));
  const ed = modelVersion("resnet-ed25519", digest);
  ed.spec.signatures = [signSpec(ed.spec, demoKey)];
  const oms = modelVersion("resnet-oms", digest);
  oms.spec.signatures = [{ type: "oms", bundle }];
  const policy = (roots: string): ModelTrustPolicy => ({
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelTrustPolicy",
    metadata: { name: "bench" },
    spec: {
      trustedKeys: [
        {
          keyId: ed.spec.signatures?.[0]?.keyId ?? "",
          publicKey: readFileSync(join(SAMPLES, "keys", "demo-signing.pub.pem"), "utf8"),
        },
      ],
      trustRoots: [{ name: roots, publicKey: key.publicKeyPem }],
    },
  });
  const cache = new VerifiedCache(modelchainVocabulary);
  for (const problem of [
    cache.putPolicy(policy("producer")),
    cache.putModelVersion(ed),
    cache.putModelVersion(oms),
  ])
    if (problem !== undefined) throw new Error(problem);
  cache.markSynced();
  const review = (mv: string) =>
    requestFor(
      {
        file: "bench",
        doc: 0,
        object: {
          apiVersion: "modelchain.io/v1alpha1",
          kind: "ModelDeployment",
          metadata: { name: `serve-${mv}`, namespace: "ml" },
          spec: { modelVersion: mv, image: `registry.example/serve@sha256:${"a".repeat(64)}` },
        },
      },
      0,
    );
  return { cache, policy, ed: review(ed.metadata.name), oms: review(oms.metadata.name) };
}

function main(): void {
  const { cache, policy, ed, oms } = setup();
  const decide = (request: typeof ed): void => {
    const d = admissionDecision(request, cache.state());
    if (!d.allowed) throw new Error(`bench review denied: ${d.message}`);
  };
  const facts = { tip: undefined, registrations: new Registrations(), revocations: new Revocations() };
  const clear = (): void => cache.setLedgerFacts(facts);
  for (let i = 0; i < 500; i++) {
    clear();
    decide(ed);
    decide(oms);
  }
  const runs: Record<string, { ed: number[]; oms: number[] }> = {
    warm: { ed: [], oms: [] },
    recheck: { ed: [], oms: [] },
  };
  // Interleaved in blocks so both paths see the same machine load.
  for (let block = 0; block < 10; block++) {
    runs["warm"]?.ed.push(...time(ROUNDS / 10, () => decide(ed)));
    runs["warm"]?.oms.push(...time(ROUNDS / 10, () => decide(oms)));
    runs["recheck"]?.ed.push(...time(ROUNDS / 10, () => (clear(), decide(ed))));
    runs["recheck"]?.oms.push(...time(ROUNDS / 10, () => (clear(), decide(oms))));
  }
  // A new trust root name changes the roots' fingerprint: the bundle is verified from scratch.
  const first = time(FIRST_ROUNDS, (i) => {
    cache.putPolicy(policy(`producer-${i}`));
    decide(oms);
  });
  const baseline = time(FIRST_ROUNDS, (i) => {
    cache.putPolicy(policy(`producer-b${i}`));
    decide(ed);
  });
  console.log(`rounds per state and path: ${ROUNDS} (first verification: ${FIRST_ROUNDS})`);
  for (const [state, r] of Object.entries({ ...runs, first: { ed: baseline, oms: first } })) {
    const e = quantiles(r.ed);
    const o = quantiles(r.oms);
    console.log(
      `${state.padEnd(8)} ed25519 p50 ${e.p50.toFixed(1)} µs p99 ${e.p99.toFixed(1)} µs | OMS p50 ${o.p50.toFixed(1)} µs p99 ${o.p99.toFixed(1)} µs | OMS p99 added ${(o.p99 - e.p99).toFixed(1)} µs, ratio ${(o.p99 / e.p99).toFixed(2)}×`,
    );
  }
}

main();
