import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VersionApi } from "@kubernetes/client-node";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";
import { pinnedKubernetesVersion, skipWithoutAssets } from "./assets.ts";
import { CHART, helm } from "../helm/helm.ts";

const skip = skipWithoutAssets("the chart against kube-apiserver");

describe.skipIf(skip)("the Helm chart against a real kube-apiserver", () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ crds: false });
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it("the control plane reports its release version, not an unstamped module build", async () => {
    const info = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(`v${pinnedKubernetesVersion()}`);
  });

  it("installs with --dry-run=server: the kubeVersion check and every object pass the API server", () => {
    const run = helm([
      "install",
      "mc",
      CHART,
      "--dry-run=server",
      "--kubeconfig",
      cp.kubeconfigPath,
      "--namespace",
      "default",
    ]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/STATUS: pending-install/);
  }, 60_000);
});
