// What to do about each check the webhook can fail: the hint `kubectl modelchain explain-denial`
// prints under the webhook's own message. Keyed by the check names of src/webhook/decision.ts
// (imagePinned, modelVersionExists, …) and of the lineage component (signature, parentsVerified, …).

const FIXES: Readonly<Record<string, string>> = {
  imagePinned:
    "pin every container image by digest (name@sha256:<64 hex>); `crane digest IMAGE` or `docker buildx imagetools inspect IMAGE` prints it",
  artifactVolumePinned:
    "mount the model artifact image at the digest the ModelVersion's spec.artifact names (image volume reference name@sha256:…)",
  modelVersionExists:
    "apply the ModelVersion first (`kubectl apply -f` its manifest), or correct spec.modelVersion / the modelchain.io/model-version label; `kubectl get mv -n NAMESPACE` lists what exists",
  notRevoked:
    "the ModelVersion is revoked: deploy another version, or lift the revocation with a signed reinstatement (`modelchain reinstate -f MV.yaml --key KEY.pem --revocation INDEX --reason TEXT`, then apply)",
  ancestorsNotRevoked:
    "an ancestor (parent, grand-parent…) is revoked: deploy a model trained from unrevoked parents, or reinstate the ancestor (`modelchain reinstate`)",
  specDigestMatchesLedger:
    "the spec differs from the one the ledger registered: restore the registered spec, or publish the change as a new ModelVersion (a new name), signed",
  signature:
    "sign the spec with a key the ModelTrustPolicy trusts (`modelchain sign -f MV.yaml --key KEY.pem`), or add the signer's public key to the policy's trustedKeys",
  parentsVerified:
    "every parent must exist in the cluster and verify itself: apply the parents first, correct spec.parents, and see each parent's Verified condition (`kubectl get mv -n NAMESPACE`)",
  datasetsPinned: "give every entry of spec.datasets a digest (sha256:<64 hex>) and sign again",
  recordedInLedger:
    "the policy requires a ledger record: wait until the operator has registered the ModelVersion (`kubectl get mv` shows Recorded=True), then apply again",
  artifactDigest: "give spec.artifact a digest (sha256:<64 hex>) of the model's bytes and sign again",
  acyclic: "spec.parents must not lead back to the ModelVersion itself: correct the parent chain",
  depth:
    "the lineage is deeper than the policy's maxLineageDepth: raise it in the ModelTrustPolicy or shorten the chain",
  schema: "correct the field named in the message (`kubectl explain` describes each field)",
  lineage:
    "see the ModelVersion's conditions (`kubectl describe mv -n NAMESPACE NAME`) for the check that failed",
};

const REASON_FIXES: Readonly<Record<string, string>> = {
  "lookup-failed":
    "the webhook could not read the object it needed from the API server in time: see the webhook's log and its /readyz",
  "webhook-not-ready":
    "the webhook's informers are not all listing and watching: its /readyz names the one that fails (often RBAC or the API server being unreachable)",
  "internal-error":
    "the webhook failed while deciding: its log has the error; the review was denied to fail closed",
};

/** The hint for a failed check (or, when the check is unknown, for the decision's reason). */
export function fixFor(check: string | undefined, reason: string): string {
  return (check === undefined ? undefined : FIXES[check]) ?? REASON_FIXES[reason] ?? "see the message above";
}
