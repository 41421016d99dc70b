// A history as text for people: one block per cluster and uid, each entry with who acted and
// the admitted change it follows from.
import type { ChainItem, History, HistoryGroup } from "./chain.ts";

const mark = (i: ChainItem) => (i.proofVerified ? "proof ok" : "PROOF FAILED");

function eventLine(e: ChainItem): string {
  const who = e.actor === null ? "" : ` by ${e.actor}`;
  const cause = e.causedBy.length === 0 ? "" : ` (after ${e.causedBy.map((i) => `[${i}]`).join(", ")})`;
  const subject = e.subject.startsWith("ConfigMap ") ? ` ${e.subject}` : "";
  return `  [${e.index}] ${e.kind}${subject}${who}: ${e.summary}${cause}  (${mark(e)})`;
}

function groupLines(g: HistoryGroup): string[] {
  const lines = [`== cluster ${g.cluster || "(none)"}, uid ${g.uid ?? "(none)"} ==`];
  if (g.datasets.length > 0 || g.modelVersions.length > 0) {
    lines.push("datasets:");
    for (const d of g.datasets)
      lines.push(
        `  ${d.name}  ${d.digest ?? "NOT PINNED"}  ${d.uri}  (used by ${d.usedBy}, entry ${d.index})`,
      );
    lines.push("", "model versions:");
    for (const m of g.modelVersions)
      lines.push(`  [${m.index}] ${m.kind} ${m.subject.replace(/^\S+ /, "")}: ${m.summary}  (${mark(m)})`);
    lines.push("", "image digests:", ...g.imageDigests.map((i) => `  ${i}`), "");
  }
  lines.push("changes, denials and rollouts:", ...g.events.map(eventLine));
  return lines;
}

export function historyText(h: History): string {
  const filters = `cluster ${h.filters.cluster ?? "all"}, uid ${h.filters.uid ?? "all"}`;
  const lines = [`history of ${h.target} (ledger size ${h.size}, root ${h.root}; ${filters})`];
  if (h.checkpoint !== undefined)
    lines.push(
      `signed checkpoint: size ${h.checkpoint.size}, root ${h.checkpoint.root}, key ${h.checkpoint.keyId}, published ${h.checkpoint.timestamp}`,
    );
  if (h.groups.length > 1) lines.push(`${h.groups.length} objects recorded under this name, oldest first`);
  for (const g of h.groups) lines.push("", ...groupLines(g));
  return `${lines.join("\n")}\n`;
}
