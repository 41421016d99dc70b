// Schemas shared by the kinds: status conditions, the ledger reference, object names.
import { arr, int, obj, str, type Schema } from "./schema-dsl.ts";

const condition = obj(
  {
    type: str({
      maxLength: 316,
      description:
        "Ready (the summary: every other condition holds), Reconciling and Stalled (present only while True, as kstatus reads them), or one of the kind's own: Verified, Recorded (ModelVersion); Admitted, Progressing, Available, ArtifactVerified, Drifted, Recorded (ModelDeployment); Accepted (ModelTrustPolicy).",
    }),
    status: str({ enum: ["True", "False", "Unknown"], description: "True, False or Unknown." }),
    reason: str({
      maxLength: 1024,
      description: "Why the condition has its status, as one CamelCase word (e.g. LineageCheckFailed).",
    }),
    message: str({
      maxLength: 32768,
      description: "What a person needs to know about it, e.g. the failed check.",
    }),
    observedGeneration: int({
      minimum: 0,
      description: "The metadata.generation the condition was computed from.",
    }),
    lastTransitionTime: str({ format: "date-time", description: "When status last changed." }),
  },
  ["type", "status", "reason", "message", "lastTransitionTime"],
);
export const conditions = arr(condition, {
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
  description:
    "The object's state as the operator observed it (metav1.Condition). `kubectl wait --for=condition=Ready` waits for Ready.",
});
export const observedGeneration = (): Schema =>
  int({ minimum: 0, description: "The metadata.generation this status was computed from." });
export const ledgerReference = obj(
  {
    index: int({ minimum: 0, description: "Index of the entry in the ledger (`modelchain proof --index`)." }),
    leafHash: str({ pattern: "^[a-f0-9]{64}$", description: "RFC 6962 leaf hash of that entry, hex." }),
  },
  ["index", "leafHash"],
  { description: "The ledger entry that recorded the object's latest event." },
);
export const dnsName = (description: string): Schema => str({ minLength: 1, maxLength: 253, description });
