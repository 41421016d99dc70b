import { afterAll, describe, expect, it } from "vitest";
import pino from "pino";
import { startMetricsServer, registry } from "../../src/metrics/index.ts";
import { FileLedger } from "../../src/ledger/index.ts";
import { Controller, type Reconciler } from "../../src/controller/index.ts";
import { entries, sampleEntry, tempDir } from "../ledger/fixtures.ts";

const state = tempDir("modelchain-metrics-");
afterAll(() => state.remove());

/** Parses the text exposition format into name{labels} → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not exposition format: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

describe("/metrics", () => {
  it("serves the Prometheus text format with the values of a scripted scenario", async () => {
    const ledger = await FileLedger.open(state.dir, { warn: () => {} });
    await ledger.append(entries(0, 3));
    await ledger.append([sampleEntry(0), { ...sampleEntry(9), kind: "ConfigChanged" }]);
    await ledger.close();
    let calls = 0;
    const failing: Reconciler = {
      name: "modeldeployment",
      reconcile: async () => (calls++ === 0 ? Promise.reject(new TypeError("boom")) : {}),
    };
    const controller = new Controller(failing, pino({ level: "silent" }), { baseMs: 1, maxMs: 1 });
    controller.start(1);
    controller.queue.add("ml/x");
    await new Promise((r) => setTimeout(r, 50));
    await controller.stop();

    const server = await startMetricsServer(0, "127.0.0.1");
    try {
      const res = await fetch(server.url);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseExposition(await res.text());
      expect(
        samples.get('modelchain_ledger_entries_appended_total{kind="RolloutStarted",backend="file"}'),
      ).toBe(3);
      expect(
        samples.get('modelchain_ledger_entries_appended_total{kind="ConfigChanged",backend="file"}'),
      ).toBe(1);
      expect(samples.get('modelchain_ledger_entries{backend="file"}')).toBe(4);
      expect(samples.get('modelchain_ledger_append_duration_seconds_count{backend="file"}')).toBe(2);
      expect(
        samples.get('modelchain_reconcile_errors_total{controller="modeldeployment",error="TypeError"}'),
      ).toBe(1);
      expect(samples.get('modelchain_reconcile_duration_seconds_count{controller="modeldeployment"}')).toBe(
        2,
      );
      expect([...samples.keys()].some((k) => k.startsWith("modelchain_process_cpu_seconds_total"))).toBe(
        true,
      );
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("names every metric by the Prometheus conventions, with bounded labels", async () => {
    const metrics = await registry.getMetricsAsJSON();
    const ours = metrics.filter(
      (m) => !m.name.startsWith("modelchain_process") && !m.name.startsWith("modelchain_nodejs"),
    );
    expect(ours.length).toBeGreaterThan(10);
    for (const m of ours) {
      expect(m.name).toMatch(/^modelchain_[a-z_]+$/);
      if (String(m.type) === "counter") expect(m.name).toMatch(/_total$/);
      if (String(m.type) === "histogram") expect(m.name).toMatch(/_seconds$/);
      const labels = new Set(m.values.flatMap((v) => Object.keys(v.labels)));
      for (const label of labels)
        expect([
          "kind",
          "backend",
          "error",
          "decision",
          "reason",
          "resource",
          "result",
          "namespace",
          "state",
          "controller",
          "le",
        ]).toContain(label);
    }
  });
});
