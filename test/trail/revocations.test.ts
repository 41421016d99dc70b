// The ledger's revocation record, as the controller and the webhook read it.
import { describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../src/ledger/index.ts";
import {
  entryFor,
  recording,
  Revocations,
  type EntryKind,
  type EntryData,
  type KeyParts,
} from "../../src/trail/index.ts";

const D = `sha256:${"d".repeat(64)}`;
const A = `sha256:${"a".repeat(64)}`;
const mv = (name: string, uid: string, namespace = "ml") => ({
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelVersion",
  metadata: { name, namespace, uid },
});
const policy = {
  apiVersion: "modelchain.io/v1alpha1",
  kind: "ModelTrustPolicy",
  metadata: { name: "p", uid: "p1" },
};

function entry<K extends EntryKind>(
  subject: object,
  kind: K,
  parts: KeyParts[K],
  data: EntryData[K],
): LedgerEntry {
  return entryFor(subject, recording(kind, parts, data, "m"), "c", new Date(0));
}
const revoked = (uid: string, name = "base", after?: number) =>
  entry(
    mv(name, uid),
    "ModelVersionRevoked",
    { modelVersion: uid, ...(after === undefined ? {} : { after }) },
    {
      specDigest: D,
      reason: "leaked",
      revokedAt: null,
    },
  );
const reinstated = (uid: string, revocationIndex: number) =>
  entry(
    mv("base", uid),
    "ModelVersionReinstated",
    { modelVersion: uid, revocationIndex },
    {
      specDigest: D,
      reason: "false alarm",
      revocationIndex,
      signedBy: "k1",
      policy: "p",
    },
  );

function read(entries: LedgerEntry[]): Revocations {
  const r = new Revocations();
  entries.forEach((e, i) => r.add(i, e));
  return r;
}

describe("the ledger's revocation record", () => {
  it("keeps a ModelVersion revoked from its ModelVersionRevoked entry on, whatever comes later but a reinstatement", () => {
    const r = read([revoked("u1"), revoked("u1")]);
    expect(r.of("ml", "base", "u1")).toMatchObject({
      state: "revoked",
      revocation: { index: 0, reason: "leaked" },
    });
    expect(r.revocationOf("ml", "base", "u1", D)).toMatchObject({ index: 0 });
    expect(r.of("ml", "base", "u2")).toEqual({ state: "never" });
  });

  it("lifts only the revocation a reinstatement names, and records who signed it", () => {
    const wrong = read([revoked("u1"), reinstated("u1", 5)]);
    expect(wrong.of("ml", "base", "u1").state).toBe("revoked");
    const right = read([revoked("u1"), reinstated("u1", 0)]);
    expect(right.of("ml", "base", "u1")).toMatchObject({
      state: "reinstated",
      revocation: { index: 0 },
      reinstatement: { index: 1, signedBy: "k1" },
    });
    expect(right.revocationOf("ml", "base", "u1", D)).toBeUndefined();
  });

  it("does not let an old reinstatement lift a revocation after it", () => {
    const r = read([revoked("u1"), reinstated("u1", 0), revoked("u1", "base", 1), reinstated("u1", 0)]);
    expect(r.of("ml", "base", "u1")).toMatchObject({ state: "revoked", revocation: { index: 2 } });
  });

  it("revokes every ModelVersion with a revoked artifact digest, in any namespace, and no reinstatement of one lifts it", () => {
    const artifact = entry(
      policy,
      "ArtifactRevoked",
      { digest: A },
      { digest: A, reason: "poisoned", policy: "p" },
    );
    const r = read([artifact, revoked("u1"), reinstated("u1", 1)]);
    expect(r.revocationOf("team-b", "other", "u9", A)).toMatchObject({
      index: 0,
      artifactDigest: A,
      reason: "poisoned",
    });
    expect(r.revocationOf("ml", "base", "u1", A)).toMatchObject({ index: 0, artifactDigest: A });
    expect(r.revocationOf("ml", "base", "u1", D)).toBeUndefined();
    expect(r.revokedArtifacts().map((a) => a.digest)).toEqual([A]);
  });

  it("refuses entries out of ledger order", () => {
    expect(() => new Revocations().add(1, revoked("u1"))).toThrow(/entry 1 read, want 0/);
  });
});
