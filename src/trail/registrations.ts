// "Recorded" has one meaning, for the controller and the webhook alike: the first
// ModelVersionRegistered entry of a ModelVersion's uid. The operator records a registration for
// every spec it sees, so comparing with the latest would never notice a spec edited after it was
// registered; the first one is the reference, and a later, different spec is a change after
// registration. An object deleted and created again has a new uid and starts over.
import type { Ledger, LedgerEntry } from "../ledger/index.ts";
import { EntryFollower } from "./follow.ts";

export interface Registration {
  /** Ledger index of the first registration. */
  index: number;
  specDigest: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** How a ModelVersion's current spec stands against its recorded registration. */
export type RegistrationStanding =
  | { state: "unrecorded" }
  | { state: "matches"; registration: Registration }
  | { state: "differs"; registration: Registration; current: string };

const nameKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The first registration of every uid in a ledger, followed as the ledger grows. */
export class Registrations {
  private read = 0;
  private readonly follower = new EntryFollower(
    () => this.read,
    (index, entry) => this.add(index, entry),
  );
  private readonly byUid = new Map<string, Registration>();
  /** By namespace/name: the first registration of the uid most recently registered under it. */
  private readonly byName = new Map<string, Registration>();

  /** How many ledger entries have been read. */
  get size(): number {
    return this.read;
  }

  /**
   * Reads the entries appended since the last call (the ledger is append-only). Concurrent
   * callers take turns, so each entry is read once and in order.
   */
  follow(ledger: Ledger): Promise<void> {
    return this.follower.follow(ledger);
  }

  /** Takes in the entry at `index`; entries must come in ledger order. */
  add(index: number, entry: LedgerEntry): void {
    if (index !== this.read) throw new RangeError(`registrations: entry ${index} read, want ${this.read}`);
    this.read = index + 1;
    const digest = entry.data["specDigest"];
    if (entry.kind !== "ModelVersionRegistered" || typeof digest !== "string") return;
    const { namespace = "", name, uid } = entry.subject;
    const id = nameKey(namespace, name);
    if (uid === undefined) {
      if (!this.byName.has(id)) this.byName.set(id, { index, specDigest: digest, namespace, name });
      return;
    }
    if (this.byUid.has(uid)) return;
    const registration: Registration = { index, specDigest: digest, namespace, name, uid };
    this.byUid.set(uid, registration);
    this.byName.set(id, registration);
  }

  /**
   * The registration of a ModelVersion: of its uid when it has one (objects from the API
   * server always do), else of the uid last registered under its namespace and name (manifests
   * checked from files carry no uid).
   */
  of(namespace: string, name: string, uid?: string): Registration | undefined {
    if (uid !== undefined) return this.byUid.get(uid);
    return this.byName.get(nameKey(namespace, name));
  }

  /** Where `currentDigest` stands against the object's registration. */
  standing(
    namespace: string,
    name: string,
    uid: string | undefined,
    currentDigest: string,
  ): RegistrationStanding {
    const registration = this.of(namespace, name, uid);
    if (registration === undefined) return { state: "unrecorded" };
    return registration.specDigest === currentDigest
      ? { state: "matches", registration }
      : { state: "differs", registration, current: currentDigest };
  }
}
