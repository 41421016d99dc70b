// Ready summarises each kind's own conditions; Reconciling and Stalled (kstatus) appear only while True.
import { describe, expect, it } from "vitest";
import { withSummary, type Condition, type ConditionUpdate, type Gate } from "../../src/api/index.ts";
import { MODEL_DEPLOYMENT_GATES } from "../../src/controller/modeldeployment-status.ts";
import { MODEL_VERSION_GATES } from "../../src/controller/modelversion.ts";
import { TRUST_POLICY_GATES } from "../../src/controller/trustpolicy.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:05:00Z");
const at = (c: ConditionUpdate): Condition => ({ ...c, lastTransitionTime: t0.toISOString() });
const c = (type: string, status: Condition["status"], reason = "R", message = ""): Condition =>
  at({ type, status, reason, message });

/** [type, status, reason] of the summary conditions, Ready first. */
function summary(conditions: Condition[], gates: readonly Gate[]): string[][] {
  return withSummary(conditions, gates, "AllGood", t1, 3)
    .filter((x) => ["Ready", "Reconciling", "Stalled"].includes(x.type))
    .map((x) => [x.type, x.status, x.reason]);
}

const served = [
  c("Admitted", "True", "LineageVerified", "lineage verified"),
  c("Progressing", "True", "NewReplicaSetAvailable", "revision 1 (h) is available"),
  c("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
  c("Recorded", "True", "RolloutCompletedRecorded", "ledger entry 4"),
  c("Drifted", "False", "RunningAdmittedDigest"),
  c("ArtifactVerified", "True", "PulledByDigest", "oci://r/m has sha256:…"),
];
const replace = (list: Condition[], next: Condition) => list.map((x) => (x.type === next.type ? next : x));

describe("Ready on a ModelDeployment", () => {
  it.each<[string, Condition[], string[][]]>([
    ["serving its rolled-out revision", served, [["Ready", "True", "AllGood"]]],
    [
      "rolling out (Progressing True, ReplicaSetUpdated)",
      replace(served, c("Progressing", "True", "ReplicaSetUpdated")),
      [
        ["Ready", "False", "ReplicaSetUpdated"],
        ["Reconciling", "True", "ReplicaSetUpdated"],
      ],
    ],
    [
      "past its progress deadline",
      replace(served, c("Progressing", "False", "ProgressDeadlineExceeded")),
      [
        ["Ready", "False", "ProgressDeadlineExceeded"],
        ["Stalled", "True", "ProgressDeadlineExceeded"],
      ],
    ],
    [
      "not admitted (the first gate names the reason)",
      replace(
        replace(served, c("Admitted", "False", "ModelRevoked")),
        c("Progressing", "False", "ModelRevoked"),
      ),
      [
        ["Ready", "False", "ModelRevoked"],
        ["Stalled", "True", "ModelRevoked"],
      ],
    ],
    [
      "waiting for a Pod to check its artifact",
      replace(served, c("ArtifactVerified", "Unknown", "Pending")),
      [
        ["Ready", "False", "Pending"],
        ["Reconciling", "True", "Pending"],
      ],
    ],
    [
      "running another digest than admitted",
      replace(served, c("Drifted", "True", "ImageDigestDrift")),
      [
        ["Ready", "False", "ImageDigestDrift"],
        ["Stalled", "True", "ImageDigestDrift"],
      ],
    ],
    [
      "scaled to zero on purpose (not Ready, nothing left to do)",
      replace(served, c("Available", "False", "ScaledToZero")),
      [["Ready", "False", "ScaledToZero"]],
    ],
    [
      "new, with only Admitted known",
      [c("Admitted", "True", "LineageVerified")],
      [
        ["Ready", "False", "ProgressingPending"],
        ["Reconciling", "True", "ProgressingPending"],
      ],
    ],
  ])("%s", (_what, conditions, want) => {
    expect(summary(conditions, MODEL_DEPLOYMENT_GATES)).toEqual(want);
  });

  it("says which condition holds it back, and joins the messages when Ready", () => {
    const drifting = replace(served, c("Drifted", "True", "ImageDigestDrift", "pod p runs sha256:b"));
    const ready = (list: Condition[]) =>
      withSummary(list, MODEL_DEPLOYMENT_GATES, "Serving", t1, 3).find((x) => x.type === "Ready");
    expect(ready(drifting)?.message).toBe("Drifted: pod p runs sha256:b");
    expect(ready(served)?.message).toBe(
      "lineage verified; revision 1 (h) is available; oci://r/m has sha256:…; Deployment has minimum availability.; ledger entry 4",
    );
  });
});

describe("Ready on a ModelVersion and a ModelTrustPolicy", () => {
  it.each<[string, Condition[], readonly Gate[], string[][]]>([
    [
      "a verified, recorded ModelVersion",
      [c("Verified", "True", "LineageVerified"), c("Recorded", "True")],
      MODEL_VERSION_GATES,
      [["Ready", "True", "AllGood"]],
    ],
    [
      "a ModelVersion whose lineage fails",
      [c("Verified", "False", "LineageCheckFailed"), c("Recorded", "True")],
      MODEL_VERSION_GATES,
      [
        ["Ready", "False", "LineageCheckFailed"],
        ["Stalled", "True", "LineageCheckFailed"],
      ],
    ],
    [
      "an invalid ModelVersion, never recorded",
      [c("Verified", "False", "InvalidSpec")],
      MODEL_VERSION_GATES,
      [
        ["Ready", "False", "InvalidSpec"],
        ["Stalled", "True", "InvalidSpec"],
      ],
    ],
    [
      "an accepted policy",
      [c("Accepted", "True", "Valid")],
      TRUST_POLICY_GATES,
      [["Ready", "True", "AllGood"]],
    ],
    [
      "an invalid policy",
      [c("Accepted", "False", "InvalidSpec")],
      TRUST_POLICY_GATES,
      [
        ["Ready", "False", "InvalidSpec"],
        ["Stalled", "True", "InvalidSpec"],
      ],
    ],
  ])("%s", (_what, conditions, gates, want) => {
    expect(summary(conditions, gates)).toEqual(want);
  });
});

describe("summary conditions over time", () => {
  it("writes the same list when nothing changed (no status write, no reconcile storm)", () => {
    const once = withSummary(served, MODEL_DEPLOYMENT_GATES, "Serving", t0, 3);
    const twice = withSummary(once, MODEL_DEPLOYMENT_GATES, "Serving", t1, 3);
    expect(twice).toEqual(once);
    expect(once.find((x) => x.type === "Ready")).toMatchObject({ observedGeneration: 3 });
  });

  it("drops Reconciling once the rollout completes, and keeps Ready's transition time while it stays False", () => {
    const rolling = withSummary(
      replace(served, c("Progressing", "True", "ReplicaSetUpdated")),
      MODEL_DEPLOYMENT_GATES,
      "Serving",
      t0,
      1,
    );
    expect(rolling.map((x) => x.type)).toContain("Reconciling");
    const stalled = withSummary(
      replace(rolling, c("Progressing", "False", "ProgressDeadlineExceeded")),
      MODEL_DEPLOYMENT_GATES,
      "Serving",
      t1,
      1,
    );
    expect(stalled.map((x) => x.type)).not.toContain("Reconciling");
    expect(stalled.find((x) => x.type === "Ready")?.lastTransitionTime).toBe(t0.toISOString());
    const done = withSummary(
      replace(stalled, served[1] as Condition),
      MODEL_DEPLOYMENT_GATES,
      "Serving",
      t1,
      1,
    );
    expect(done.filter((x) => ["Reconciling", "Stalled"].includes(x.type))).toEqual([]);
    expect(done.find((x) => x.type === "Ready")).toMatchObject({
      status: "True",
      lastTransitionTime: t1.toISOString(),
    });
  });
});
