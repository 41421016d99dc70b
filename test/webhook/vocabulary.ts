// A cache vocabulary over plain {namespace, name, revoked} objects, and an outbox that appends
// straight to a ledger: the review pipeline without the real lineage checks.
import type { LedgerEntry, MemoryLedger, Outbox } from "../../src/ledger/index.ts";
import type { ModelVocabulary } from "../../src/webhook/cache.ts";
import { policy, type FakeMV } from "./fixtures.ts";

/** A vocabulary over plain {namespace, name, revoked} objects, counting verifications. */
export function vocabulary(
  selects: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): ModelVocabulary<FakeMV, null> & { verifications: number } {
  const v: ModelVocabulary<FakeMV, null> & { verifications: number } = {
    verifications: 0,
    modelVersion: (o: unknown) => {
      if (
        typeof o !== "object" ||
        o === null ||
        !("name" in o) ||
        !("namespace" in o) ||
        typeof o.name !== "string" ||
        typeof o.namespace !== "string"
      ) {
        return { ok: false as const, problem: "metadata.name is required" };
      }
      const mv: FakeMV = {
        namespace: o.namespace,
        name: o.name,
        revoked: "revoked" in o && o.revoked === true,
      };
      return {
        ok: true as const,
        object: mv,
        view: {
          namespace: mv.namespace,
          name: mv.name,
          revoked: mv.revoked ?? false,
          revokedReason: "",
          specDigest: "sha256:x",
        },
      };
    },
    policy: () => ({ ok: true as const, view: { ...policy("strict", "enforce", selects), policy: null } }),
    unrevocation: () => undefined,
    verify: () => {
      v.verifications++;
      return { verified: true, checks: [] };
    },
    signature: () => ({ name: "signature", passed: true, reason: "signed" }),
  };
  return v;
}

export function outboxOver(ledger: MemoryLedger): Outbox & { batches: LedgerEntry[][] } {
  const batches: LedgerEntry[][] = [];
  return {
    batches,
    enqueue: async (entries) => {
      batches.push([...entries]);
      await ledger.append(entries);
    },
    depth: () => 0,
    flush: async () => undefined,
    close: async () => undefined,
  };
}
