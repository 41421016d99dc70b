// CycloneDX parts built from what the ledger records: properties, SHA-256 hashes from
// `sha256:<hex>` digests, and container components from image references.
import * as Enums from "@cyclonedx/cyclonedx-library/Enums";
import * as Models from "@cyclonedx/cyclonedx-library/Models";
import { PackageURL } from "packageurl-js";

export const props = (pairs: ReadonlyArray<readonly [string, string]>): Models.Property[] =>
  pairs.map(([name, value]) => new Models.Property(name, value));

const SHA256 = /^sha256:([0-9a-f]{64})$/;

/** A `sha256:<hex>` digest as a CycloneDX hash; undefined for anything else. */
export function digestHash(digest: string): [Enums.HashAlgorithm, string] | undefined {
  const hex = SHA256.exec(digest)?.[1];
  return hex === undefined ? undefined : [Enums.HashAlgorithm["SHA-256"], hex];
}

/** `[host/]path[:tag]@sha256:<hex>` split into repository, tag and digest (no digest: unpinned). */
export function imageParts(image: string): { repository: string; tag?: string; digest?: string } {
  const at = image.lastIndexOf("@");
  const named = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? undefined : image.slice(at + 1);
  const colon = named.lastIndexOf(":");
  const hasTag = colon > named.lastIndexOf("/");
  return {
    repository: hasTag ? named.slice(0, colon) : named,
    ...(hasTag ? { tag: named.slice(colon + 1) } : {}),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** A container component: the image by digest (package URL type `oci`), its digest as the hash. */
export function containerImage(image: string): Models.Component {
  const { repository, tag, digest } = imageParts(image);
  const name = repository.slice(repository.lastIndexOf("/") + 1);
  const purl =
    digest === undefined
      ? undefined
      : new PackageURL("oci", undefined, name, digest, {
          repository_url: repository,
          ...(tag === undefined ? {} : { tag }),
        }).toString();
  const c = new Models.Component(Enums.ComponentType.Container, repository, {
    bomRef: image,
    ...(digest === undefined ? {} : { version: digest }),
    ...(purl === undefined ? {} : { purl }),
  });
  const hash = digest === undefined ? undefined : digestHash(digest);
  if (hash !== undefined) c.hashes.set(...hash);
  c.properties.add(new Models.Property("modelchain:image", image));
  c.properties.add(new Models.Property("modelchain:image:pinnedByDigest", String(hash !== undefined)));
  return c;
}
