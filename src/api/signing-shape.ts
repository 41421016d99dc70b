// The one-of rules of signatures and trust roots, which the CRDs state in CEL
// (schemas-signing.ts) and ajv cannot: checked here so that files read without an API server
// (`modelchain check`, `lineage-check`) are held to the same shape.
import type { FieldError } from "./validate.ts";
import type { KeylessIdentity, ModelTrustPolicySpec, Signature, TrustRoot } from "./types.ts";

const count = (o: object, fields: readonly string[]): number =>
  fields.filter((f) => (o as Record<string, unknown>)[f] !== undefined).length;

const OMS_SOURCES = ["bundle", "configMapKeyRef", "secretKeyRef"] as const;

function signatureProblem(s: Signature): string | undefined {
  if (s.type === "oms") {
    if (count(s, OMS_SOURCES) !== 1 || count(s, ["keyId", "signature"]) > 0)
      return "an oms signature has exactly one of bundle, configMapKeyRef, secretKeyRef (and no keyId, signature)";
    return undefined;
  }
  if (s.keyId === undefined || s.signature === undefined || count(s, OMS_SOURCES) > 0)
    return "an ed25519 signature has keyId and signature (and no bundle, configMapKeyRef, secretKeyRef)";
  return undefined;
}

export function signatureProblems(signatures: readonly Signature[] | undefined): FieldError[] {
  return (signatures ?? []).flatMap((s, i) => {
    const problem = signatureProblem(s);
    return problem === undefined ? [] : [{ field: `spec.signatures[${i}]`, message: problem }];
  });
}

function identityProblem(id: KeylessIdentity): string | undefined {
  if (count(id, ["issuer", "issuerRegExp"]) !== 1 || count(id, ["subject", "subjectRegExp"]) !== 1)
    return "has exactly one of issuer, issuerRegExp and exactly one of subject, subjectRegExp";
  for (const pattern of [id.issuerRegExp, id.subjectRegExp]) {
    if (pattern === undefined) continue;
    try {
      new RegExp(pattern, "u");
    } catch (e: unknown) {
      return `regular expression ${JSON.stringify(pattern)} does not compile (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  return undefined;
}

function rootProblems(root: TrustRoot, path: string): FieldError[] {
  if (count(root, ["publicKey", "certificateAuthority", "keyless"]) !== 1)
    return [
      { field: path, message: "a trust root has exactly one of publicKey, certificateAuthority, keyless" },
    ];
  return (root.keyless?.identities ?? []).flatMap((id, j) => {
    const problem = identityProblem(id);
    return problem === undefined ? [] : [{ field: `${path}.keyless.identities[${j}]`, message: problem }];
  });
}

export function trustProblems(spec: ModelTrustPolicySpec): FieldError[] {
  const roots = spec.trustRoots ?? [];
  const problems = roots.flatMap((r, i) => rootProblems(r, `spec.trustRoots[${i}]`));
  const names = roots.map((r) => r.name);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i)
      problems.push({
        field: `spec.trustRoots[${i}].name`,
        message: `${JSON.stringify(name)} is listed twice`,
      });
  });
  if ((spec.trustedKeys ?? []).length === 0 && roots.length === 0)
    problems.push({ field: "spec", message: "a policy trusts something: give trustedKeys or trustRoots" });
  return problems;
}
