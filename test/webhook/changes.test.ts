// Admitted changes are recorded with the API server's userInfo and a redacted diff, once per
// review, never for a dry run; the object cannot name its own actor.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryLedger, type LedgerEntry } from "../../src/ledger/index.ts";
import { VerifiedCache } from "../../src/webhook/cache.ts";
import { DenialRecorder } from "../../src/webhook/denials.ts";
import { parseAdmissionReview, type AdmissionRequest } from "../../src/webhook/review.ts";
import { createReviewer } from "../../src/webhook/reviewer.ts";
import { deployment, modelDeployment, PINNED, request } from "./fixtures.ts";
import { outboxOver, vocabulary } from "./vocabulary.ts";

const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const alice = { username: "alice", uid: "uid-alice", groups: ["system:authenticated"] };
const robot = {
  username: "system:serviceaccount:ci:deployer",
  uid: "uid-sa",
  groups: ["system:serviceaccounts"],
};

function withEnv(value: string, generation: number, annotations: Record<string, string> = {}): unknown {
  const md = modelDeployment("child") as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  return {
    ...md,
    metadata: { ...md.metadata, uid: "md-uid", generation, annotations },
    spec: { ...md.spec, serving: { env: [{ name: "LOG_LEVEL", value }] } },
  };
}

function configMap(data: Record<string, string>, namespace = "ml"): unknown {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings", namespace, uid: "cm-uid" },
    data,
  };
}

const configMapReview = (extra: Partial<AdmissionRequest>): AdmissionRequest => ({
  ...request("ModelDeployment", null),
  kind: { group: "", version: "v1", kind: "ConfigMap" },
  name: "settings",
  ...extra,
});

/** A reviewer over a cache where a policy governs namespace "ml" only, recording into a ledger. */
function pipeline() {
  const cache = new VerifiedCache(vocabulary((labels) => labels["kubernetes.io/metadata.name"] === "ml"));
  cache.putPolicy({});
  cache.putNamespace("ml", { "kubernetes.io/metadata.name": "ml" });
  cache.putNamespace("web", { "kubernetes.io/metadata.name": "web" });
  cache.putModelVersion({ namespace: "ml", name: "child" });
  cache.markSynced();
  const ledger = new MemoryLedger();
  const sink = new DenialRecorder({
    outbox: outboxOver(ledger),
    cluster: "c1",
    tip: () => undefined,
    onError: () => undefined,
  });
  const review = createReviewer({ cache, sink });
  const entries = async (): Promise<LedgerEntry[]> => {
    await sink.settled();
    const size = await ledger.size();
    return Promise.all(Array.from({ length: size }, async (_, i) => (await ledger.get(i)).envelope.entry));
  };
  return { review, entries };
}

describe("ChangeAdmitted entries", () => {
  it("records an env change with its actor, generation-to-be and a diff that names the key and digests the value", async () => {
    const { review, entries } = pipeline();
    const d = await review(
      request("ModelDeployment", withEnv("debug", 3), {
        operation: "UPDATE",
        oldObject: withEnv("info", 2),
        userInfo: robot,
      }),
    );
    expect(d.allowed).toBe(true);
    const [entry, ...rest] = await entries();
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      kind: "ChangeAdmitted",
      cluster: "c1",
      key: "ChangeAdmitted/u-1",
      subject: { kind: "ModelDeployment", namespace: "ml", uid: "md-uid" },
      data: {
        operation: "UPDATE",
        generation: 3,
        actor: {
          username: robot.username,
          uid: "uid-sa",
          serviceAccount: { namespace: "ci", name: "deployer" },
        },
        diff: [{ op: "replace", path: "/spec/serving/env/LOG_LEVEL/value", value: sha("debug") }],
      },
    });
    expect(JSON.stringify(entry)).not.toMatch(/"debug"|"info"/);
  });

  it("takes the actor from userInfo only: an annotation naming someone else changes nothing", async () => {
    const { review, entries } = pipeline();
    const forged = withEnv("debug", 3, { "modelchain.io/actor": "bob", "modelchain.io/changed-by": "bob" });
    await review(
      request("ModelDeployment", forged, {
        operation: "UPDATE",
        oldObject: withEnv("info", 2),
        userInfo: alice,
      }),
    );
    const [entry] = await entries();
    expect(entry?.data["actor"]).toEqual({ ...alice, serviceAccount: null });
    expect(JSON.stringify(entry)).not.toContain("bob");
  });

  it("records a ConfigMap key change in a governed namespace as per-key digests, and none elsewhere", async () => {
    const { review, entries } = pipeline();
    await review(
      configMapReview({
        operation: "UPDATE",
        object: configMap({ "model.yaml": "temperature: 0.2", same: "x" }),
        oldObject: configMap({ "model.yaml": "temperature: 0.7", same: "x" }),
        userInfo: alice,
      }),
    );
    await review(
      configMapReview({
        uid: "u-web",
        namespace: "web",
        operation: "UPDATE",
        object: configMap({ a: "1" }, "web"),
        oldObject: configMap({ a: "2" }, "web"),
        userInfo: alice,
      }),
    );
    const all = await entries();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      subject: { apiVersion: "v1", kind: "ConfigMap", name: "settings", uid: "cm-uid" },
      data: {
        generation: null,
        diff: [{ op: "replace", path: "/data/model.yaml", value: sha("temperature: 0.2") }],
      },
    });
  });

  it("records nothing for a dry run, once for a retried review, and nothing for a metadata-only update", async () => {
    const { review, entries } = pipeline();
    const update = { operation: "UPDATE" as const, oldObject: withEnv("info", 2), userInfo: alice };
    await review(request("ModelDeployment", withEnv("debug", 3), { ...update, dryRun: true }));
    expect(await entries()).toEqual([]);
    for (let i = 0; i < 3; i++) await review(request("ModelDeployment", withEnv("debug", 3), update));
    await review(request("ModelDeployment", withEnv("info", 2, { note: "x" }), { ...update, uid: "u-meta" }));
    expect((await entries()).map((e) => e.key)).toEqual(["ChangeAdmitted/u-1"]);
  });

  it("records a delete of a labelled Deployment with the old object's generation and identity", async () => {
    const { review, entries } = pipeline();
    const old = deployment("child", [PINNED]) as { metadata: Record<string, unknown> };
    const oldObject = { ...old, metadata: { ...old.metadata, uid: "d-uid", generation: 5 } };
    await review(request("Deployment", null, { operation: "DELETE", name: "d", oldObject, userInfo: alice }));
    const [entry] = await entries();
    expect(entry).toMatchObject({
      subject: { kind: "Deployment", name: "d", uid: "d-uid" },
      data: { operation: "DELETE", generation: 5, actor: { username: "alice" } },
    });
  });

  it("names the actor of a denial too", async () => {
    const { review, entries } = pipeline();
    await review(request("ModelDeployment", modelDeployment("ghost"), { userInfo: alice }));
    const [entry] = await entries();
    expect(entry).toMatchObject({ kind: "AdmissionDenied", data: { actor: { username: "alice" } } });
  });
});

describe("request.userInfo", () => {
  const body = (userInfo: unknown) => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u",
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      operation: "CREATE",
      userInfo,
    },
  });

  it("is read from the review as the API server sent it", () => {
    expect(parseAdmissionReview(body({ ...alice, extra: { scopes: ["x"] } })).userInfo).toEqual(alice);
  });

  it("refuses a malformed one, naming the field", () => {
    expect(() => parseAdmissionReview(body({ username: "a", groups: [1] }))).toThrow(
      /request\.userInfo\.groups must be a list of strings/,
    );
    expect(() => parseAdmissionReview(body("alice"))).toThrow(/request\.userInfo must be an object/);
  });
});
