/**
 * What a reconcile asks of the controller (the controller-runtime contract):
 *   - resolves `{}`: done; wait for the next event on this key (or the periodic resync);
 *   - resolves `{ requeueAfter: ms }`: look at this key again after that delay;
 *   - throws: retry with per-key exponential backoff (the error policy in controller.ts);
 *   - throws `TerminalError`: record it and do not retry until the object changes.
 * Reconcilers are level-triggered: they recompute from what they observe, never from the
 * event that woke them, and writing the same state twice changes nothing.
 */
export interface ReconcileResult {
  requeueAfter?: number;
}

export interface Reconciler {
  /** Bounded metric label and log field: "modelversion", "modeldeployment", … */
  readonly name: string;
  reconcile(key: string): Promise<ReconcileResult>;
}

export const done = (): ReconcileResult => ({});
export const requeueAfter = (ms: number): ReconcileResult => ({ requeueAfter: ms });

/** A failure retrying cannot fix (an invalid object); the object's next change retries. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TerminalError";
  }
}

export function splitKey(key: string): { namespace: string; name: string } {
  const at = key.indexOf("/");
  return at === -1 ? { namespace: "", name: key } : { namespace: key.slice(0, at), name: key.slice(at + 1) };
}
