// Reading ModelVersions and ModelTrustPolicies from the files and directories given on the
// command line; a malformed object is bad input that names its file and document.
import {
  describeErrors,
  validateModelTrustPolicy,
  validateModelVersion,
  type ModelTrustPolicy,
  type ModelVersion,
  type Validation,
} from "../api/index.ts";
import {
  manifestFiles,
  readManifestFile,
  ManifestReadFailed,
  type ManifestObject,
} from "../webhook/source-dir.ts";
import { inputLimits } from "./input.ts";
import { CliInputError } from "./output.ts";

export function readObjects(paths: readonly string[]): ManifestObject[] {
  try {
    return paths.flatMap((p) => manifestFiles(p)).flatMap((f) => readManifestFile(f, inputLimits()));
  } catch (e: unknown) {
    if (e instanceof ManifestReadFailed) throw new CliInputError(e.message, { cause: e });
    throw e;
  }
}

function validated<T>(
  objects: readonly ManifestObject[],
  kind: string,
  validate: (v: unknown) => Validation<T>,
): T[] {
  return objects
    .filter((o) => o.object["kind"] === kind)
    .map((o) => {
      const checked = validate(o.object);
      if (!checked.ok)
        throw new CliInputError(`${o.file}: document ${o.doc}: ${describeErrors(checked.errors)}`);
      return checked.value;
    });
}

export function modelVersionsIn(objects: readonly ManifestObject[]): ModelVersion[] {
  return validated(objects, "ModelVersion", validateModelVersion);
}

export function policiesIn(objects: readonly ManifestObject[]): ModelTrustPolicy[] {
  return validated(objects, "ModelTrustPolicy", validateModelTrustPolicy);
}

export function qualifiedName(mv: ModelVersion): string {
  return `${mv.metadata.namespace ?? "default"}/${mv.metadata.name}`;
}

/** namespace/name of a ModelVersion's parent (the child's namespace unless the ref names one). */
export function parentName(child: ModelVersion, ref: { name: string; namespace?: string }): string {
  return `${ref.namespace ?? child.metadata.namespace ?? "default"}/${ref.name}`;
}
