// verifyLineage: whether a ModelVersion's lineage verifies under a trust policy. Pure: the
// parents come from `resolve`, the ledger's records from `recorded`; nothing is fetched.
import {
  DEFAULT_MAX_LINEAGE_DEPTH,
  requiredChecksOf,
  specDigest,
  type ModelTrustPolicySpec,
  type ModelVersion,
  type ParentRef,
  type RequiredChecks,
  type TrustRoot,
  type TrustedKey,
} from "../api/index.ts";
import type { FileDigest } from "../artifact/manifest.ts";
import type { Material } from "./oms-roots.ts";
import { signatureCheck } from "./signers.ts";
import {
  artifactDigestCheck,
  datasetsPinnedCheck,
  fail,
  notRevokedCheck,
  pass,
  subjectName,
  type CheckName,
  type CheckResult,
  type LedgerRevocation,
  type LineageCheck,
} from "./checks.ts";

export interface LineagePolicy {
  trustedKeys: readonly TrustedKey[];
  trustRoots: readonly TrustRoot[];
  requiredSigners: number;
  require: Required<RequiredChecks>;
  maxDepth: number;
}

/** What verification reads besides the objects: ConfigMap/Secret values and the time. */
export interface LineageEnvironment {
  /** Values of the ConfigMap/Secret keys that OMS bundles and trusted roots are given in. */
  material?: Material;
  /** When certificates without a verified timestamp are judged; the time of the call by default. */
  now?: Date;
}

export function lineagePolicy(spec: ModelTrustPolicySpec): LineagePolicy {
  return {
    trustedKeys: spec.trustedKeys ?? [],
    trustRoots: spec.trustRoots ?? [],
    requiredSigners: spec.requiredSigners ?? 1,
    require: requiredChecksOf(spec),
    maxDepth: spec.maxLineageDepth ?? DEFAULT_MAX_LINEAGE_DEPTH,
  };
}

export type Resolve = (namespace: string, name: string) => ModelVersion | undefined;
/** The spec digest the ledger recorded for a ModelVersion, if any. */
export type RecordedDigest = (namespace: string, name: string) => string | undefined;
/** The revocation the ledger holds for a ModelVersion, if any. */
export type RecordedRevocation = (mv: ModelVersion) => LedgerRevocation | undefined;

export interface LineageVerdict {
  verified: boolean;
  checks: LineageCheck[];
  /** Generations from this model to its oldest ancestor (a model without parents has depth 1). */
  depth: number;
  /** The failed required checks' reasons, in check order. */
  failed: string[];
  /** The nearest revoked ancestor (or itself), by namespace/name. */
  revoked?: string;
  /** The cycle this model is on, as a path a -> b -> a. */
  cycle?: string[];
  /** The verdict rests on certificates checked at verification time: judge again after this. */
  validUntil?: Date;
  /**
   * The artifact's per-file digests, from a verified OMS bundle of this model's own signatures:
   * what the Pod's init container checks each delivered file against, to name the one that differs.
   */
  artifactFiles?: readonly FileDigest[];
}

const REQUIRED_BY_POLICY: Partial<Record<CheckName, keyof RequiredChecks>> = {
  signature: "signature",
  datasetsPinned: "datasetsPinned",
  parentsVerified: "parentsVerified",
  recordedInLedger: "recordedInLedger",
};

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function parentKey(child: ModelVersion, ref: ParentRef): [string, string] {
  return [ref.namespace ?? child.metadata.namespace ?? "default", ref.name];
}

/**
 * Parents are bound by the spec digest the child's signature covers, not by name alone: another
 * ModelVersion of the same name (even one a trusted key signed) is not the parent. A child
 * signed before digests were recorded cannot say which parent it meant, so it fails closed.
 */
function bindingProblem(
  key: string,
  index: number,
  ref: ParentRef,
  parent: ModelVersion,
): string | undefined {
  if (ref.specDigest === undefined) {
    return `lineage: parent ${key} is not bound by the child's signature (spec.parents[${index}].specDigest is missing; sign the child again with modelchain sign --parent)`;
  }
  const current = specDigest(parent.spec);
  return current === ref.specDigest
    ? undefined
    : `lineage: parent ${key}'s spec digest is ${current}, the child was signed over ${ref.specDigest}`;
}

class LineageWalk {
  private readonly memo = new Map<string, LineageVerdict>();
  private readonly resolve: Resolve;
  private readonly policy: LineagePolicy;
  private readonly recorded: RecordedDigest | undefined;
  private readonly revocation: RecordedRevocation | undefined;
  private readonly env: Required<LineageEnvironment>;

  constructor(
    resolve: Resolve,
    policy: LineagePolicy,
    recorded: RecordedDigest | undefined,
    revocation: RecordedRevocation | undefined,
    env: LineageEnvironment,
  ) {
    this.resolve = resolve;
    this.policy = policy;
    this.recorded = recorded;
    this.revocation = revocation;
    this.env = { material: env.material ?? (() => undefined), now: env.now ?? new Date() };
  }

  verdict(mv: ModelVersion, path: readonly string[]): LineageVerdict {
    const key = subjectName(mv);
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const parents = this.parentResults(mv, [...path, key]);
    const depth = 1 + Math.max(0, ...parents.depths);
    const revoked = notRevokedCheck(mv, this.revocation?.(mv));
    const signature = signatureCheck(mv, this.policy, this.env);
    const results: CheckResult[] = [
      signature.check,
      artifactDigestCheck(mv),
      datasetsPinnedCheck(mv),
      revoked,
      parents.verified,
      parents.revoked,
      parents.acyclic,
      depth <= this.policy.maxDepth
        ? pass("depth", `depth ${depth}`)
        : fail("depth", `lineage: ${key} has depth ${depth}, over the limit ${this.policy.maxDepth}`),
      ...this.recordedChecks(mv),
    ];
    const verdict = this.toVerdict(results, depth, revoked.passed ? parents.revokedName : key, parents.cycle);
    if (signature.files !== undefined) verdict.artifactFiles = signature.files;
    const until = [...results.map((r) => r.validUntil), ...parents.validUntil].filter((d) => d !== undefined);
    if (until.length > 0) verdict.validUntil = new Date(Math.min(...until.map((d) => d.getTime())));
    // A verdict computed on a cycle depends on where the walk entered it: do not reuse it.
    if (parents.cycle === undefined) this.memo.set(key, verdict);
    return verdict;
  }

  private toVerdict(
    results: CheckResult[],
    depth: number,
    revoked: string | undefined,
    cycle: string[] | undefined,
  ): LineageVerdict {
    const checks = results.map((r) => {
      const policyKey = REQUIRED_BY_POLICY[r.name];
      return { ...r, required: policyKey === undefined ? true : this.policy.require[policyKey] };
    });
    const failed = checks.filter((c) => c.required && !c.passed).map((c) => c.reason);
    return {
      verified: failed.length === 0,
      checks,
      depth,
      failed,
      ...(revoked === undefined ? {} : { revoked }),
      ...(cycle === undefined ? {} : { cycle }),
    };
  }

  /**
   * Two checks on the ledger's registration: that there is one (a policy may ask for it), and
   * that the spec has not changed since (always required: a spec edited after it was registered
   * is not the model that was recorded).
   */
  private recordedChecks(mv: ModelVersion): CheckResult[] {
    const key = subjectName(mv);
    const recorded = this.recorded?.(mv.metadata.namespace ?? "default", mv.metadata.name);
    if (recorded === undefined)
      return [
        fail("recordedInLedger", `lineage: ${key} has no ModelVersionRegistered entry in the ledger`),
        pass("specDigestMatchesLedger", "no registration to compare with"),
      ];
    const current = specDigest(mv.spec);
    return [
      pass("recordedInLedger", `registered with spec digest ${recorded}`),
      recorded === current
        ? pass("specDigestMatchesLedger", `recorded with spec digest ${current}`)
        : fail(
            "specDigestMatchesLedger",
            `lineage: ${key} spec digest ${current} differs from the recorded ${recorded} (tampered after registration?)`,
          ),
    ];
  }

  private parentResults(mv: ModelVersion, path: readonly string[]) {
    const problems: string[] = [];
    const depths: number[] = [];
    const validUntil: Date[] = [];
    let revokedName: string | undefined;
    let cycle: string[] | undefined;
    for (const [index, ref] of (mv.spec.parents ?? []).entries()) {
      const [namespace, name] = parentKey(mv, ref);
      const key = keyOf(namespace, name);
      if (path.includes(key)) {
        cycle ??= [...path.slice(path.indexOf(key)), key];
        continue;
      }
      const parent = this.resolve(namespace, name);
      if (parent === undefined) {
        problems.push(`lineage: parent ${key} does not exist`);
        continue;
      }
      const binding = bindingProblem(key, index, ref, parent);
      if (binding !== undefined) problems.push(binding);
      const verdict = this.verdict(parent, path);
      depths.push(verdict.depth);
      if (verdict.validUntil !== undefined) validUntil.push(verdict.validUntil);
      cycle ??= verdict.cycle;
      revokedName ??= verdict.revoked;
      if (!verdict.verified)
        problems.push(`lineage: parent ${key} is not verified (${verdict.failed.join("; ")})`);
    }
    return {
      depths,
      validUntil,
      revokedName,
      cycle,
      verified:
        problems.length === 0
          ? pass("parentsVerified", `${(mv.spec.parents ?? []).length} parent(s) verified`)
          : fail("parentsVerified", problems.join("; ")),
      revoked:
        revokedName === undefined
          ? pass("ancestorsNotRevoked", "no revoked ancestor")
          : fail("ancestorsNotRevoked", `lineage: ancestor ${revokedName} is revoked`),
      acyclic:
        cycle === undefined
          ? pass("acyclic", "no cycle")
          : fail("acyclic", `lineage: cycle ${cycle.join(" -> ")}`),
    };
  }
}

/**
 * Verifies a ModelVersion's lineage: signature by a trusted key, artifact digest, datasets
 * pinned, parents existing, verified and not revoked (recursively), no cycle, depth within
 * the limit and, where required, the ledger's recorded spec digest equal to the current one.
 */
// Positional lookups keep the existing callers as they are; `env` is optional and last.
// eslint-disable-next-line max-params -- folding these into one options object is a wider change
export function verifyLineage(
  mv: ModelVersion,
  resolve: Resolve,
  policy: LineagePolicy,
  recorded?: RecordedDigest,
  revocation?: RecordedRevocation,
  env: LineageEnvironment = {},
): LineageVerdict {
  return new LineageWalk(resolve, policy, recorded, revocation, env).verdict(mv, []);
}
