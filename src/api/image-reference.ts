// Image references pinned by digest: the one grammar the webhook and the operator both apply.

// The image reference grammar of the OCI distribution spec (as containerd and the kubelet parse
// it): [host[:port]/]path[:tag]@sha256:<64 hex>. Anything outside it is refused rather than
// guessed at: the runtime could read a malformed reference as another image than the one judged.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
/**
 * A tag may precede the digest, but the digest is what runs. RE2 syntax as well, so the CRD's
 * CEL rule on spec.image (schemas.ts) matches with this very pattern.
 */
export const PINNED_IMAGE_PATTERN = `^(${NAME})(?::${TAG})?@sha256:[0-9a-f]{64}$`;
const PINNED = new RegExp(PINNED_IMAGE_PATTERN);
const NAME_MAX_LENGTH = 255;
/** Name, tag and digest at their longest; checked first so the pattern never sees megabytes. */
const REFERENCE_MAX_LENGTH = NAME_MAX_LENGTH + 1 + 128 + 1 + 71;

export function isPinnedByDigest(image: string): boolean {
  if (image.length > REFERENCE_MAX_LENGTH) return false;
  const match = PINNED.exec(image);
  return match !== null && (match[1] ?? "").length <= NAME_MAX_LENGTH;
}
