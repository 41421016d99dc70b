// The webhook's in-memory verified cache: what informers (or a directory) have shown it,
// with lineage verdicts memoised until anything changes. Reviews read it synchronously.
import type {
  AdmissionState,
  LedgerTip,
  LineageCheck,
  LineageVerdict,
  ModelVersionView,
  RevocationView,
  TrustPolicyView,
} from "./state.ts";
import { Registrations, Revocations } from "../trail/index.ts";

type Lookup<T> = (namespace: string, name: string) => T | undefined;

/** A ConfigMap or Secret key that signature material (OMS bundles, trusted roots) is read from. */
export interface MaterialKey {
  kind: "ConfigMap" | "Secret";
  namespace: string;
  name: string;
  key: string;
}
export type MaterialLookup = (ref: MaterialKey) => string | undefined;

/** How the webhook reads api objects and asks the lineage component; see vocabulary.ts. */
export interface ModelVocabulary<MV, P> {
  modelVersion(
    object: unknown,
  ): { ok: true; view: ModelVersionView; object: MV } | { ok: false; problem: string };
  policy(object: unknown): { ok: true; view: TrustPolicyView<P> } | { ok: false; problem: string };
  verify(
    mv: MV,
    resolve: Lookup<MV>,
    policy: TrustPolicyView<P>,
    recorded: Lookup<string>,
    revocation: (mv: MV) => RevocationView | undefined,
    material: MaterialLookup,
  ): LineageVerdict;
  /** The signature check alone, `required` as the policy says (what a ModelVersion's own review judges). */
  signature(mv: MV, policy: TrustPolicyView<P>, material: MaterialLookup): LineageCheck;
  /** See AdmissionState.unrevocation; `revocation` is what the ledger holds for `mv`. */
  unrevocation(
    mv: MV,
    oldObject: unknown,
    revocation: RevocationView | undefined,
    policies: readonly TrustPolicyView<P>[],
  ): string | undefined;
}

export interface LedgerFacts {
  tip: LedgerTip | undefined;
  /** The first registration of every ModelVersion uid (the trail's one meaning of "recorded"). */
  registrations: Registrations;
  /** Revocations and reinstatements recorded, of ModelVersions and artifact digests. */
  revocations: Revocations;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export class VerifiedCache<MV, P> {
  private readonly vocabulary: ModelVocabulary<MV, P>;
  private readonly modelVersions = new Map<string, MV>();
  private readonly policies = new Map<string, TrustPolicyView<P>>();
  private readonly namespaces = new Map<string, Readonly<Record<string, string>>>();
  /** Data of the labelled ConfigMaps and Secrets, by kind/namespace/name (Secret values decoded). */
  private readonly material = new Map<string, Readonly<Record<string, string>>>();
  private readonly materialLookup: MaterialLookup = (ref) =>
    this.material.get(`${ref.kind}/${key(ref.namespace, ref.name)}`)?.[ref.key];
  private readonly verdicts = new Map<string, LineageVerdict>();
  /** Reads of stored objects, so a warm review never re-validates a ModelVersion. */
  private readonly reads = new WeakMap<object, ReturnType<ModelVocabulary<MV, P>["modelVersion"]>>();
  private policyList: TrustPolicyView<P>[] | undefined;
  private ledger: LedgerFacts = {
    tip: undefined,
    registrations: new Registrations(),
    revocations: new Revocations(),
  };
  private isSynced = false;

  constructor(vocabulary: ModelVocabulary<MV, P>) {
    this.vocabulary = vocabulary;
  }

  /** Any change may alter a descendant's verdict (a revoked parent), so all verdicts go. */
  private changed(): void {
    this.verdicts.clear();
    this.policyList = undefined;
  }

  private read(object: unknown): ReturnType<ModelVocabulary<MV, P>["modelVersion"]> {
    if (typeof object !== "object" || object === null) return this.vocabulary.modelVersion(object);
    const memo = this.reads.get(object);
    if (memo !== undefined) return memo;
    const read = this.vocabulary.modelVersion(object);
    this.reads.set(object, read);
    return read;
  }

  /** Stores a ModelVersion; returns the problem when the object is not a valid one. */
  putModelVersion(object: unknown): string | undefined {
    const read = this.read(object);
    if (!read.ok) return read.problem;
    if (typeof read.object === "object" && read.object !== null) this.reads.set(read.object, read);
    this.modelVersions.set(key(read.view.namespace, read.view.name), read.object);
    this.changed();
    return undefined;
  }

  deleteModelVersion(namespace: string, name: string): void {
    if (this.modelVersions.delete(key(namespace, name))) this.changed();
  }

  putPolicy(object: unknown): string | undefined {
    const read = this.vocabulary.policy(object);
    if (!read.ok) return read.problem;
    this.policies.set(read.view.name, read.view);
    this.changed();
    return undefined;
  }

  deletePolicy(name: string): void {
    if (this.policies.delete(name)) this.changed();
  }

  putNamespace(name: string, labels: Readonly<Record<string, string>>): void {
    this.namespaces.set(name, labels);
  }

  deleteNamespace(name: string): void {
    this.namespaces.delete(name);
  }

  /** A ConfigMap's or Secret's data (Secret values already decoded); verdicts may change with it. */
  putMaterial(
    kind: MaterialKey["kind"],
    namespace: string,
    name: string,
    data: Readonly<Record<string, string>>,
  ): void {
    this.material.set(`${kind}/${key(namespace, name)}`, data);
    this.changed();
  }

  deleteMaterial(kind: MaterialKey["kind"], namespace: string, name: string): void {
    if (this.material.delete(`${kind}/${key(namespace, name)}`)) this.changed();
  }

  setLedgerFacts(facts: LedgerFacts): void {
    this.ledger = facts;
    this.changed();
  }

  hasModelVersion(namespace: string, name: string): boolean {
    return this.modelVersions.has(key(namespace, name));
  }

  /** The parents a stored ModelVersion names; undefined when it is not stored or not valid. */
  parentsOf(namespace: string, name: string): ReadonlyArray<{ namespace: string; name: string }> | undefined {
    const stored = this.modelVersions.get(key(namespace, name));
    const read = stored === undefined ? undefined : this.read(stored);
    return read?.ok ? (read.view.parents ?? []) : undefined;
  }

  hasNamespace(name: string): boolean {
    return this.namespaces.has(name);
  }

  markSynced(): void {
    this.isSynced = true;
  }

  synced(): boolean {
    return this.isSynced;
  }

  private verdict(mv: MV, policy: TrustPolicyView<P>): LineageVerdict {
    const read = this.read(mv);
    const resolve = (namespace: string, name: string): MV | undefined =>
      this.modelVersions.get(key(namespace, name));
    const recorded = (namespace: string, name: string): string | undefined => {
      const stored = this.modelVersions.get(key(namespace, name));
      const read = stored === undefined ? undefined : this.read(stored);
      return this.recordedDigest(namespace, name, read?.ok ? read.view.uid : undefined);
    };
    const revocation = (m: MV): RevocationView | undefined => this.revocationOf(m);
    if (!read.ok)
      return this.vocabulary.verify(mv, resolve, policy, recorded, revocation, this.materialLookup);
    const cached = this.modelVersions.get(key(read.view.namespace, read.view.name)) === mv;
    const memo = `${policy.name}\u0000${key(read.view.namespace, read.view.name)}`;
    const hit = cached ? this.verdicts.get(memo) : undefined;
    if (hit !== undefined && (hit.validUntil === undefined || Date.now() <= hit.validUntil.getTime()))
      return hit;
    const fresh = this.vocabulary.verify(mv, resolve, policy, recorded, revocation, this.materialLookup);
    if (cached) this.verdicts.set(memo, fresh);
    return fresh;
  }

  /** What the ledger holds against this ModelVersion: its own revocation or its artifact's. */
  private revocationOf(mv: MV): RevocationView | undefined {
    const read = this.read(mv);
    if (!read.ok) return undefined;
    const { namespace, name, uid, artifactDigest } = read.view;
    return this.ledger.revocations.revocationOf(namespace, name, uid, artifactDigest ?? "");
  }

  /** The spec digest of the object's registration (of its uid, when it has one). */
  private recordedDigest(namespace: string, name: string, uid: string | undefined): string | undefined {
    return this.ledger.registrations.of(namespace, name, uid)?.specDigest;
  }

  /** A view for one decision. Lookups read the live maps; misses are resolved before calling. */
  state(): AdmissionState<MV, P> {
    return {
      ledgerTip: this.ledger.tip,
      policies: (this.policyList ??= [...this.policies.values()]),
      namespaceLabels: (name) => this.namespaces.get(name),
      modelVersion: (namespace, name) => this.modelVersions.get(key(namespace, name)),
      viewModelVersion: (object) => this.read(object),
      verdict: (mv, policy) => this.verdict(mv, policy),
      signature: (mv, policy) => this.vocabulary.signature(mv, policy, this.materialLookup),
      unrevocation: (mv, oldObject, policies) =>
        this.vocabulary.unrevocation(mv, oldObject, this.revocationOf(mv), policies),
    };
  }
}
