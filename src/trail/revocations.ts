// Revocation is a recorded fact, not a field: a ModelVersion is revoked from its
// ModelVersionRevoked entry on, whatever its spec says later, until a ModelVersionReinstated
// entry lifts that very revocation (by its ledger index). An ArtifactRevoked entry revokes
// every ModelVersion whose artifact has that digest, in every namespace and every cluster that
// follows the ledger. The controller and the webhook read the same entries the same way.
import type { Ledger, LedgerEntry } from "../ledger/index.ts";
import { EntryFollower } from "./follow.ts";

/** A revocation as the ledger recorded it. */
export interface RecordedRevocation {
  /** Ledger index and key of the entry that revoked. */
  index: number;
  key: string;
  reason: string;
  /** Set when the revocation came from a revoked artifact digest. */
  artifactDigest?: string;
}

export interface RecordedReinstatement {
  index: number;
  key: string;
  /** Key id that signed the reinstatement. */
  signedBy: string;
}

/** Where a ModelVersion stands in the ledger's revocation record. */
export type RevocationStanding =
  | { state: "never" }
  | { state: "revoked"; revocation: RecordedRevocation }
  | { state: "reinstated"; revocation: RecordedRevocation; reinstatement: RecordedReinstatement };

export interface ArtifactRevocation {
  index: number;
  key: string;
  digest: string;
  reason: string;
  policy: string;
}

const nameKey = (namespace: string, name: string): string => `${namespace}/${name}`;
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

export class Revocations {
  private read = 0;
  private readonly follower = new EntryFollower(
    () => this.read,
    (index, entry) => this.add(index, entry),
  );
  private readonly byUid = new Map<string, RevocationStanding>();
  /** For objects without a uid (manifests checked from files): the last standing by name. */
  private readonly byName = new Map<string, RevocationStanding>();
  private readonly artifacts = new Map<string, ArtifactRevocation>();

  /** How many ledger entries have been read. */
  get size(): number {
    return this.read;
  }

  /** Reads the entries appended since the last call; concurrent callers take turns. */
  follow(ledger: Ledger): Promise<void> {
    return this.follower.follow(ledger);
  }

  /** Takes in the entry at `index`; entries must come in ledger order. */
  add(index: number, entry: LedgerEntry): void {
    if (index !== this.read) throw new RangeError(`revocations: entry ${index} read, want ${this.read}`);
    this.read = index + 1;
    if (entry.kind === "ModelVersionRevoked") this.revoked(index, entry);
    else if (entry.kind === "ModelVersionReinstated") this.reinstated(index, entry);
    else if (entry.kind === "ArtifactRevoked") this.artifactRevoked(index, entry);
  }

  private set(entry: LedgerEntry, standing: RevocationStanding): void {
    const { namespace = "", name, uid } = entry.subject;
    if (uid !== undefined) this.byUid.set(uid, standing);
    this.byName.set(nameKey(namespace, name), standing);
  }

  private current(entry: LedgerEntry): RevocationStanding {
    const { namespace = "", name, uid } = entry.subject;
    return (
      (uid === undefined ? undefined : this.byUid.get(uid)) ??
      this.byName.get(nameKey(namespace, name)) ?? { state: "never" }
    );
  }

  private revoked(index: number, entry: LedgerEntry): void {
    // A second revocation entry while revoked adds nothing: the first one stands.
    if (this.current(entry).state === "revoked") return;
    const artifactDigest = str(entry.data["artifactDigest"]);
    const revocation: RecordedRevocation = {
      index,
      key: entry.key,
      reason: str(entry.data["reason"]) ?? "",
      ...(artifactDigest === undefined ? {} : { artifactDigest }),
    };
    this.set(entry, { state: "revoked", revocation });
  }

  private reinstated(index: number, entry: LedgerEntry): void {
    const current = this.current(entry);
    // Only the revocation it names is lifted: a reinstatement cannot be replayed against a later one.
    if (current.state !== "revoked" || entry.data["revocationIndex"] !== current.revocation.index) return;
    const signedBy = str(entry.data["signedBy"]) ?? "";
    this.set(entry, {
      state: "reinstated",
      revocation: current.revocation,
      reinstatement: { index, key: entry.key, signedBy },
    });
  }

  private artifactRevoked(index: number, entry: LedgerEntry): void {
    const digest = str(entry.data["digest"]);
    if (digest === undefined || this.artifacts.has(digest)) return;
    const reason = str(entry.data["reason"]) ?? "";
    const policy = str(entry.data["policy"]) ?? "";
    this.artifacts.set(digest, { index, key: entry.key, digest, reason, policy });
  }

  /** A ModelVersion's standing: of its uid when it has one, else the last recorded under its name. */
  of(namespace: string, name: string, uid?: string): RevocationStanding {
    const standing = uid === undefined ? this.byName.get(nameKey(namespace, name)) : this.byUid.get(uid);
    return standing ?? { state: "never" };
  }

  /** The recorded revocation of an artifact digest, if any. */
  artifact(digest: string): ArtifactRevocation | undefined {
    return this.artifacts.get(digest);
  }

  /** Every revoked artifact digest, in ledger order. */
  revokedArtifacts(): ArtifactRevocation[] {
    return [...this.artifacts.values()];
  }

  /**
   * Why the ledger says this ModelVersion is revoked, or undefined: its own revocation stands,
   * or its artifact's digest is revoked (a reinstatement of the model does not lift that).
   */
  revocationOf(
    namespace: string,
    name: string,
    uid: string | undefined,
    artifactDigest: string,
  ): RecordedRevocation | undefined {
    // The artifact's revocation comes first: no reinstatement of the model lifts it.
    const artifact = this.artifacts.get(artifactDigest);
    if (artifact !== undefined) {
      const { index, key, reason, digest } = artifact;
      return { index, key, reason, artifactDigest: digest };
    }
    const standing = this.of(namespace, name, uid);
    return standing.state === "revoked" ? standing.revocation : undefined;
  }
}
