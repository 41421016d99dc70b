// Image references and the pod-template containers that carry them.
import { isRecord } from "./review.ts";

// The image reference grammar of the OCI distribution spec (as containerd and the kubelet parse
// it): [host[:port]/]path[:tag]@sha256:<64 hex>. Anything outside it is refused rather than
// guessed at: the runtime could read a malformed reference as another image than the one judged.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = "[\\w][\\w.-]{0,127}";
/** A tag may precede the digest, but the digest is what runs. */
const PINNED = new RegExp(`^(${NAME})(?::${TAG})?@sha256:[0-9a-f]{64}$`);
const NAME_MAX_LENGTH = 255;
/** Name, tag and digest at their longest; checked first so the pattern never sees megabytes. */
const REFERENCE_MAX_LENGTH = NAME_MAX_LENGTH + 1 + 128 + 1 + 71;

export function isPinnedByDigest(image: string): boolean {
  if (image.length > REFERENCE_MAX_LENGTH) return false;
  const match = PINNED.exec(image);
  return match !== null && (match[1] ?? "").length <= NAME_MAX_LENGTH;
}

/** A container image found in an object, with where it was found (for the denial message). */
export interface ImageRef {
  path: string;
  image: unknown;
}

const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

/** Every container image of a pod spec, with its JSON path below `base`. */
export function podSpecImages(podSpec: unknown, base: string): ImageRef[] {
  if (!isRecord(podSpec)) return [];
  const refs: ImageRef[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    containers.forEach((c: unknown, i) => {
      const name = isRecord(c) && typeof c["name"] === "string" ? c["name"] : String(i);
      refs.push({ path: `${base}.${list}[${name}].image`, image: isRecord(c) ? c["image"] : undefined });
    });
  }
  return refs;
}

/** The first image that is not pinned by digest, or undefined when all are. */
export function firstUnpinned(refs: readonly ImageRef[]): ImageRef | undefined {
  return refs.find((r) => typeof r.image !== "string" || !isPinnedByDigest(r.image));
}
