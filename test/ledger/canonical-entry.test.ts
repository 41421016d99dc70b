// The schema-specific encoder (src/ledger/canonical-entry.ts) against the general RFC 8785
// `canonicalize`, byte for byte: generated entries (any unicode, numbers of every magnitude and
// sign, empty and nested objects) and an entry of every kind the trail records.
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EntryValidationError, prepareEntry, type LedgerEntry } from "../../src/ledger/index.ts";
import {
  ENTRY_KINDS,
  entryFor,
  recording,
  type EntryData,
  type EntryKind,
  type KeyParts,
} from "../../src/trail/index.ts";

const encoder = new TextEncoder();

/** The bytes `prepareEntry` records, and what `canonicalize` makes of the same entry. */
function bothEncodings(value: unknown): { fast: Buffer; general: Buffer } {
  const { entry, bytes } = prepareEntry(value);
  const general = canonicalize(entry);
  if (general === undefined) throw new Error("canonicalize gave nothing");
  return { fast: Buffer.from(bytes), general: Buffer.from(encoder.encode(general)) };
}

const anyString = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  // Controls, quotes, backslashes, U+2028/9 and DEL: everything JSON escapes or might.
  fc.string({
    unit: fc.constantFrom("\u0000", "\u001f", '"', "\\", "/", "\u007f", "\u2028", "\u2029", "\ud83d\ude00"),
  }),
);
const nonEmpty = anyString.filter((s) => s.length > 0);
const number = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(Number),
  fc.constantFrom(
    -0,
    5e-324,
    -5e-324,
    1e21,
    -1e21,
    1e-7,
    0.000001,
    2 ** 53,
    2 ** 53 + 2,
    -Number.MAX_VALUE,
    4.5,
  ),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    anyString,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    tie("object"),
  ),
  object: fc.dictionary(anyString, tie("value"), { maxKeys: 5 }),
}));
const data = fc.oneof(
  fc.dictionary(anyString, jsonValue, { maxKeys: 6 }),
  fc.constant({}),
  fc.constant({ nested: {}, list: [], deeper: { a: { b: {} } } }),
);
const subject = fc.record(
  { apiVersion: nonEmpty, kind: nonEmpty, name: nonEmpty, namespace: anyString, uid: anyString },
  { requiredKeys: ["apiVersion", "kind", "name"] },
);
const entry = fc.record({
  v: fc.constantFrom(1, 2),
  kind: nonEmpty,
  cluster: nonEmpty,
  subject,
  key: nonEmpty,
  observedAt: nonEmpty,
  data,
});

describe("schema-specific canonical entry encoder", () => {
  it("writes exactly canonicalize's bytes for thousands of generated entries", () => {
    fc.assert(
      fc.property(entry, (e) => {
        const { fast, general } = bothEncodings(e);
        expect(fast.equals(general)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("writes the same bytes whether optional fields are absent, undefined, or data is left out", () => {
    const base = {
      v: 2,
      kind: "k",
      cluster: "c",
      subject: { apiVersion: "v1", kind: "Pod", name: "p", namespace: undefined, uid: undefined },
      key: "key",
      observedAt: "2026-12-02T00:00:00Z",
    };
    const { fast, general } = bothEncodings(base);
    expect(fast.equals(general)).toBe(true);
    expect(fast.toString()).toBe(
      '{"cluster":"c","data":{},"key":"key","kind":"k","observedAt":"2026-12-02T00:00:00Z","subject":{"apiVersion":"v1","kind":"Pod","name":"p"},"v":2}',
    );
  });

  it.each(["kind", "cluster", "key", "observedAt"] as const)(
    "refuses a lone surrogate in %s, naming the field, as canonicalize refuses it",
    (field) => {
      fc.assert(
        fc.property(
          entry,
          fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00b"),
          (e, lone) => {
            const bad = { ...e, [field]: `x${lone}` };
            expect(() => canonicalize(bad)).toThrow(/Lone surrogate/);
            expect(() => prepareEntry(bad)).toThrow(EntryValidationError);
            expect(() => prepareEntry(bad)).toThrow(`ledger entry: ${field} holds a lone UTF-16 surrogate`);
          },
        ),
        { numRuns: 200 },
      );
    },
  );

  it.each(["apiVersion", "kind", "name", "namespace", "uid"] as const)(
    "refuses a lone surrogate in subject.%s, naming the field",
    (field) => {
      const bad = {
        ...sample("RolloutStarted"),
        subject: { ...sample("RolloutStarted").subject, [field]: "\udc00" },
      };
      expect(() => canonicalize(bad)).toThrow(/Lone surrogate/);
      expect(() => prepareEntry(bad)).toThrow(`ledger entry: subject.${field} holds a lone UTF-16 surrogate`);
    },
  );

  it("refuses a lone surrogate anywhere in data, in a key or a value, naming data", () => {
    for (const bad of [{ "\ud800": 1 }, { a: ["ok", { b: "\udfff" }] }, { nested: { "x\udbff": null } }]) {
      const e = { ...sample("RolloutStarted"), data: bad };
      expect(() => canonicalize(e)).toThrow(/Lone surrogate/);
      expect(() => prepareEntry(e)).toThrow("ledger entry: data cannot be serialised as canonical JSON");
    }
    // A well-formed pair is one code point, not a lone surrogate.
    const { fast, general } = bothEncodings({
      ...sample("RolloutStarted"),
      data: { "\ud83d\ude00": "\ud83d\ude00" },
    });
    expect(fast.equals(general)).toBe(true);
  });

  it("refuses numbers JSON cannot carry in data, naming data", () => {
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const e = { ...sample("RolloutStarted"), data: { deep: [1, { n }] } };
      expect(() => prepareEntry(e)).toThrow(EntryValidationError);
      expect(() => prepareEntry(e)).toThrow("ledger entry: data cannot be serialised as canonical JSON");
    }
  });
});

const D = `sha256:${"d".repeat(64)}`;
const IMG = `registry.example/serve@sha256:${"1".repeat(64)}`;
const ROLLOUT = { workload: "uid-w", revision: 3, templateHash: "0123456789abcdef" };
const OUTCOME = { revision: 3, templateHash: "0123456789abcdef", images: { server: IMG }, configHash: D };
const ACTOR = {
  username: "system:serviceaccount:ml:deployer",
  uid: "sa-uid",
  groups: ["system:serviceaccounts"],
  serviceAccount: { namespace: "ml", name: "deployer" },
};

/** Key parts and data of every kind the trail records (the compiler insists on all of them). */
const KINDS: { [K in EntryKind]: { parts: KeyParts[K]; data: EntryData[K] } } = {
  ModelVersionRegistered: {
    parts: { modelVersion: "uid-m", specDigest: D },
    data: {
      specDigest: D,
      model: "mistral-7b",
      version: "2",
      artifact: { uri: "oci://r/m", digest: D },
      parents: ["ml/base"],
      datasets: [{ name: "faq", uri: "s3://b/faq", digest: null }],
      training: { runId: "r1" },
      signedBy: ["team-a"],
      verified: true,
      failedChecks: [],
    },
  },
  ModelVersionRevoked: {
    parts: { modelVersion: "uid-m", after: 12 },
    data: { specDigest: D, reason: "leaked", revokedAt: null, artifactDigest: D },
  },
  ModelVersionReinstated: {
    parts: { modelVersion: "uid-m", revocationIndex: 7 },
    data: { specDigest: D, reason: "false alarm", revocationIndex: 7, signedBy: "k1", policy: "ml-models" },
  },
  ArtifactRevoked: { parts: { digest: D }, data: { digest: D, reason: "poisoned", policy: "ml-models" } },
  RolloutStarted: {
    parts: ROLLOUT,
    data: {
      revision: 3,
      modelVersion: "mistral",
      modelSpecDigest: D,
      images: { server: IMG, "sidecar-ü": IMG },
      configHash: D,
      templateHash: "0123456789abcdef",
      generation: 4,
      config: { env: { LOG_LEVEL: D }, replicas: 2, ratio: 0.25, empty: {} },
    },
  },
  RolloutCompleted: { parts: ROLLOUT, data: OUTCOME },
  RolloutFailed: { parts: ROLLOUT, data: OUTCOME },
  ImageDigestChanged: {
    parts: ROLLOUT,
    data: { revision: 3, modelVersion: "mistral", from: { server: "a@sha256:0" }, to: { server: IMG } },
  },
  ConfigChanged: {
    parts: ROLLOUT,
    data: {
      revision: 3,
      modelVersion: "mistral",
      from: "sha256:0",
      to: D,
      diff: [{ op: "replace", path: "/env/LOG_LEVEL/value", value: D }],
    },
  },
  DriftDetected: {
    parts: { podUid: "uid-p", running: D },
    data: { pod: "p-0", container: "server", admitted: "sha256:0", running: D },
  },
  RevokedModelInUse: {
    parts: { workload: "uid-w", revoked: "ml/base" },
    data: { modelVersion: "mistral", revoked: "ml/base", replicas: null, scaleToZero: true },
  },
  ModelDeploymentDeleted: {
    parts: { workload: "uid-w" },
    data: { modelVersion: "mistral", image: IMG, lastRevision: 3 },
  },
  ArtifactVerified: {
    parts: { ...ROLLOUT, digest: D },
    data: { revision: 3, uri: "s3://b/m/", digest: D, pod: "chat-7d9f-abcde", verifiedBy: "init-container" },
  },
  ArtifactVerificationFailed: {
    parts: { podUid: "uid-p", expected: D },
    data: {
      revision: 3,
      uri: "s3://b/m/",
      expected: D,
      actual: null,
      file: "config.json",
      pod: "chat-7d9f-abcde",
      message: 'artifact s3://b/m/: "digest" sha256:0,\n expected …',
    },
  },
  AdmissionDenied: {
    parts: { parts: ["review-1", "apps", "Deployment", "ml", "web", null, undefined] },
    data: {
      reviewUid: "review-1",
      operation: "CREATE",
      reason: "image-not-pinned",
      check: "imagePinned",
      message: "image nginx is not pinned",
      policy: "strict",
      mode: "enforce",
      enforced: true,
      ledgerTip: { size: 1_000_000, root: "b".repeat(64) },
      actor: ACTOR,
    },
  },
  ChangeAdmitted: {
    parts: { reviewUid: "review-2" },
    data: {
      reviewUid: "review-2",
      operation: "UPDATE",
      actor: ACTOR,
      generation: null,
      diff: [{ op: "add", path: "/spec/serving/env/-", value: { name: "A", value: "\t\u0001" } }],
    },
  },
  AnchoredCheckpoint: {
    parts: { origin: `modelchain.io/ledger/${"a".repeat(32)}`, size: 42 },
    data: {
      origin: `modelchain.io/ledger/${"a".repeat(32)}`,
      size: 42,
      root: "b".repeat(64),
      checkpoint: "modelchain.io/ledger/…\n42\n…\n\n— …\n",
    },
  },
};

function sample<K extends EntryKind>(kind: K): LedgerEntry {
  const { parts, data } = KINDS[kind];
  const object = {
    apiVersion: "modelchain.io/v1alpha1",
    kind: "ModelDeployment",
    metadata: { name: "chat", namespace: "ml", uid: "uid-w" },
  };
  return entryFor(object, recording(kind, parts, data, "m"), "prod-eu", new Date("2026-12-02T07:00:00.123Z"));
}

/** `value` with every string replaced by the next of `strings` (cycled). */
function withStrings(value: unknown, strings: string[], at = { i: 0 }): unknown {
  if (typeof value === "string") return strings[at.i++ % strings.length];
  if (Array.isArray(value)) return value.map((v) => withStrings(v, strings, at));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withStrings(v, strings, at)]));
  return value;
}

describe("every entry kind of src/trail/kinds.ts", () => {
  it("has a sample for each kind in the table", () => {
    expect(Object.keys(KINDS).sort()).toEqual(Object.keys(ENTRY_KINDS).sort());
  });

  it.each(Object.keys(ENTRY_KINDS) as EntryKind[])("encodes %s exactly as canonicalize does", (kind) => {
    const { fast, general } = bothEncodings(sample(kind));
    expect(fast.equals(general)).toBe(true);
    fc.assert(
      fc.property(fc.array(nonEmpty, { minLength: 1, maxLength: 8 }), (strings) => {
        const both = bothEncodings(withStrings(sample(kind), strings));
        expect(both.fast.equals(both.general)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
