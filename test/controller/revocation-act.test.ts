// What the ModelVersion reconciler appends next for a model's revocation record (pure).
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ModelVersion } from "../../src/api/index.ts";
import { recordedAgain, revocationAct } from "../../src/controller/revocation-act.ts";
import { keyIdOf, reinstatementSubject, signReinstatement } from "../../src/lineage/index.ts";
import { entryFor, type RevocationStanding } from "../../src/trail/index.ts";
import { sampleObjects } from "../api/samples.ts";

const key = generateKeyPairSync("ed25519");
const trusted = [
  {
    policy: "ml-models",
    keys: [
      {
        keyId: keyIdOf(key.publicKey),
        publicKey: key.publicKey.export({ type: "spki", format: "pem" }).toString(),
      },
    ],
  },
];
const base = (): ModelVersion => {
  const mv = structuredClone(sampleObjects("base-model.yaml")[0] as unknown as ModelVersion);
  mv.metadata.uid = "u1";
  return mv;
};
const revokedAt = (index: number): RevocationStanding => ({
  state: "revoked",
  revocation: { index, key: `ModelVersionRevoked/u1`, reason: "leaked" },
});
const artifact = { index: 2, key: "ArtifactRevoked/x", digest: "sha256:x", reason: "poisoned", policy: "p" };

describe("the next revocation entry of a ModelVersion", () => {
  it("revokes when the spec asks, and after a reinstatement under a key naming it", () => {
    const mv = base();
    mv.spec.revoked = { reason: "leaked" };
    expect(revocationAct(mv, { state: "never" }, undefined, trusted)?.key).toBe("ModelVersionRevoked/u1");
    const reinstated: RevocationStanding = {
      state: "reinstated",
      revocation: { index: 3, key: "k", reason: "leaked" },
      reinstatement: { index: 7, key: "k2", signedBy: "s" },
    };
    expect(revocationAct(mv, reinstated, undefined, trusted)?.key).toBe("ModelVersionRevoked/u1/after-7");
  });

  it("revokes a model whose artifact is revoked, naming the digest", () => {
    const act = revocationAct(base(), { state: "never" }, artifact, trusted);
    expect(act).toMatchObject({
      kind: "ModelVersionRevoked",
      data: { reason: "poisoned", artifactDigest: "sha256:x" },
    });
  });

  it("appends nothing when spec.revoked is only taken away, and a reinstatement for a valid signed act", () => {
    expect(revocationAct(base(), revokedAt(3), undefined, trusted)).toBeUndefined();
    const mv = base();
    mv.spec.reinstated = signReinstatement(reinstatementSubject(mv, 3, "false alarm"), key.privateKey);
    expect(revocationAct(mv, revokedAt(3), undefined, trusted)).toMatchObject({
      kind: "ModelVersionReinstated",
      key: "ModelVersionReinstated/u1/3",
      data: { revocationIndex: 3, signedBy: keyIdOf(key.publicKey), policy: "ml-models" },
    });
    expect(revocationAct(mv, revokedAt(4), undefined, trusted)).toBeUndefined();
    expect(revocationAct(mv, revokedAt(3), undefined, [])).toBeUndefined();
    expect(revocationAct(mv, revokedAt(3), artifact, trusted)).toBeUndefined();
  });

  it("rebuilds a recorded entry as the same recording, so recording it again adds nothing", () => {
    const mv = base();
    mv.spec.revoked = { reason: "leaked" };
    const act = revocationAct(mv, { state: "never" }, undefined, trusted);
    if (act === undefined) throw new Error("no act");
    const entry = entryFor(mv, act, "c", new Date(0));
    expect(recordedAgain(entry)).toEqual(act);
  });
});
