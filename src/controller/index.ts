// The controller component's public face.
export {
  startOperator,
  borrowedLedger,
  type Operator,
  type OperatorOptions,
  type LedgerHandle,
} from "./operator.ts";
export { WorkQueue } from "./queue.ts";
export { Controller } from "./controller.ts";
export { done, requeueAfter, TerminalError, type Reconciler, type ReconcileResult } from "./reconcile.ts";
export { LeaderElector, canAcquire } from "./leader.ts";
export {
  desiredDeployment,
  rolloutOutcome,
  configHash,
  servingConfig,
  templateHash,
} from "./deployment-spec.ts";
export { EventRecorder } from "./recorder.ts";
export { probeCluster, installCrds } from "./cluster.ts";
