// Image volumes (volumes[].image, Kubernetes 1.35+) in a Pod template that serves a ModelVersion:
// the kubelet mounts what the reference names, so each must be pinned, and one naming the
// artifact's own repository must be pinned to the artifact's digest. Pure; the operator (a
// Warning on labelled Deployments) and the webhook (a denial) both ask it.
import { parseArtifactUri, type ArtifactLocation } from "./artifact-uri.ts";
import { isPinnedByDigest } from "./image-reference.ts";
import type { Artifact } from "./types.ts";

/** What of a volume this reads: its name and image reference. */
export interface ImageVolumeLike {
  name?: string;
  image?: { reference?: string };
}

/** `registry/repo[:tag]@sha256:…` → `registry/repo` (a port's colon stays). */
function repositoryOf(reference: string): string {
  const name = reference.split("@")[0] ?? "";
  const slash = name.lastIndexOf("/");
  const colon = name.lastIndexOf(":");
  return colon > slash ? name.slice(0, colon) : name;
}

/** The repository an oci:// artifact lives in; undefined for every other scheme. */
function artifactRepository(artifact: Artifact): string | undefined {
  let where: ArtifactLocation;
  try {
    where = parseArtifactUri(artifact.uri);
  } catch {
    return undefined;
  }
  return where.scheme === "oci" ? repositoryOf(where.repository) : undefined;
}

/**
 * A Pod template serving a ModelVersion: every image volume not pinned by digest is a problem
 * (the kubelet would mount whatever the tag names then), and so is one naming an oci://
 * artifact's repository at another digest (bytes the ModelVersion did not sign).
 */
export function imageVolumeProblems<V extends ImageVolumeLike>(
  volumes: readonly V[],
  artifact: Artifact,
): string[] {
  const repository = artifactRepository(artifact);
  return volumes.flatMap((v) => {
    const reference = v.image?.reference;
    if (reference === undefined) return [];
    if (!isPinnedByDigest(reference)) return [`image volume ${v.name}: ${reference} is not pinned by digest`];
    if (
      repository !== undefined &&
      repositoryOf(reference) === repository &&
      !reference.endsWith(`@${artifact.digest}`)
    )
      return [
        `image volume ${v.name}: ${reference} is not the ModelVersion's artifact digest ${artifact.digest}`,
      ];
    return [];
  });
}
