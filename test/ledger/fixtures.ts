import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LedgerEntry } from "../../src/ledger/index.ts";

export function sampleEntry(n: number, kind = "RolloutStarted"): LedgerEntry {
  return {
    v: 1,
    kind,
    cluster: "test",
    subject: {
      apiVersion: "modelchain.io/v1alpha1",
      kind: "ModelDeployment",
      namespace: "ml",
      name: `md-${n}`,
      uid: `uid-${n}`,
    },
    key: `key-${n}`,
    observedAt: "2026-11-25T00:00:00Z",
    data: { revision: n, image: `registry.example/serve@sha256:${String(n).padStart(64, "0")}` },
  };
}

export function entries(from: number, count: number): LedgerEntry[] {
  return Array.from({ length: count }, (_, i) => sampleEntry(from + i));
}

/** A fresh directory under the OS temp dir, removed by the returned function. */
export function tempDir(prefix = "modelchain-test-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
