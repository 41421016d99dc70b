// The setup most envtest suites share: a real control plane, a file ledger in a folder of its
// own, and the operator running in this process over it, synced before the suite starts.
import pino from "pino";
import {
  borrowedLedger,
  startOperator,
  type Operator,
  type OperatorOptions,
} from "../../src/controller/index.ts";
import { FileLedger } from "../../src/ledger/index.ts";
import { tempDir } from "../ledger/fixtures.ts";
import { startControlPlane, type ControlPlane } from "./controlplane.ts";

export interface OperatorEnv {
  cp: ControlPlane;
  ledger: FileLedger;
  operator: Operator;
  /** The ledger's folder (the suite may keep its own files beside it). */
  dir: string;
  /** Stops the operator, closes the ledger, stops the control plane, removes the folder. */
  stop(): Promise<void>;
}

export async function startOperatorEnv(
  name: string,
  options: {
    controlPlane?: Parameters<typeof startControlPlane>[0];
    operator?: Partial<Omit<OperatorOptions, "kubeConfig" | "ledger">>;
  } = {},
): Promise<OperatorEnv> {
  const state = tempDir(`modelchain-${name}-`);
  const cp = await startControlPlane(options.controlPlane);
  const ledger = await FileLedger.open(state.dir, { warn: () => {} });
  const operator = await startOperator({
    kubeConfig: cp.kubeConfig,
    ledger: borrowedLedger(ledger),
    cluster: "envtest",
    log: pino({ level: process.env["DEBUG_LOG"] ?? "silent" }),
    progressPollMs: 300,
    ...options.operator,
  });
  await operator.synced;
  return {
    cp,
    ledger,
    operator,
    dir: state.dir,
    async stop() {
      await operator.stop();
      await ledger.close();
      await cp.stop();
      state.remove();
    },
  };
}
