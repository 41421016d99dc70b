// Image references and the pod-template containers that carry them.
import { isPinnedByDigest } from "../api/index.ts";
import { isRecord } from "./review.ts";

export { isPinnedByDigest };

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
