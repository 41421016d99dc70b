// The trail component's public face: what modelchain records in the ledger, and how.
export * from "./kinds.ts";
export { entryFor, objectId, type Involved } from "./entry.ts";
export { Registrations, type Registration, type RegistrationStanding } from "./registrations.ts";
export {
  Revocations,
  type ArtifactRevocation,
  type RecordedReinstatement,
  type RecordedRevocation,
  type RevocationStanding,
} from "./revocations.ts";
export { TrailIndex, TrailIndexMismatch } from "./follower.ts";
export {
  RolloutLog,
  describeImages,
  type RolloutRecord,
  type RolloutStore,
  type RolloutPhase,
  type RolloutOutcome,
  type TrailWriter,
  type ObservedWorkload,
  type RolloutPass,
} from "./rollout-log.ts";
