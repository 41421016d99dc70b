// One registered version (or run artifact) read from MLflow, its files hashed, made a
// ModelVersion: the steps in order, each answer checked before the next is asked for.
import { parseArtifactUri, type ArtifactLocation } from "../api/index.ts";
import { hashStore, type HashedArtifact, type StoreOptions } from "./artifact.ts";
import { below, deliverableUri, locate, type Store } from "./location.ts";
import { importedModelVersion, TAG_DIGEST, TAG_PARENT, type Imported } from "./model-version.ts";
import { loggedModelOf, registeredVersionOf, runOf, type RegisteredVersion, type Run } from "./records.ts";
import type { MlflowRegistry } from "./registry.ts";

export type ImportRequest =
  | { kind: "version"; name: string; version: string }
  /** A run's artifact, named as a ModelVersion by `model` and `version` (not looked up). */
  | { kind: "run"; runId: string; path: string; model: string; version: string };

export interface ImportOptions extends StoreOptions {
  registry: MlflowRegistry;
  namespace: string;
}

/** What was asked for is not in MLflow, or MLflow records it in a way that cannot be imported. */
export class MlflowImportFailed extends Error {
  override readonly name = "MlflowImportFailed";
}

/** The files no longer hash to the digest recorded when the version was registered. */
export class ArtifactChangedSinceRegistration extends Error {
  override readonly name = "ArtifactChangedSinceRegistration";
}

const MAX_HOPS = 8;

export const versionUri = (name: string, version: string): string => `models:/${name}/${version}`;

async function registered(
  registry: MlflowRegistry,
  name: string,
  version: string,
  why: string,
): Promise<RegisteredVersion> {
  const uri = versionUri(name, version);
  const answer = await registry.modelVersion(name, version);
  if (answer === undefined)
    throw new MlflowImportFailed(`${uri}${why} is not registered at ${registry.where}`);
  return registeredVersionOf(answer, uri);
}

async function runNamed(registry: MlflowRegistry, runId: string): Promise<Run | undefined> {
  const answer = await registry.run(runId);
  return answer === undefined ? undefined : runOf(answer, `run ${runId}`);
}

/** Follows runs:/ and models:/ from `source` to the store that holds the files. */
async function storeOf(
  registry: MlflowRegistry,
  source: string,
  of: string,
): Promise<{ store: Store; uri: string }> {
  let uri = source;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const step = locate(uri);
    switch (step.kind) {
      case "run": {
        const run = await runNamed(registry, step.runId);
        if (run === undefined)
          throw new MlflowImportFailed(`${of}: source ${uri}: run ${step.runId} is not at ${registry.where}`);
        uri = below(run.artifactUri, step.path);
        break;
      }
      case "loggedModel": {
        const answer = await registry.loggedModel(step.modelId);
        if (answer === undefined)
          throw new MlflowImportFailed(
            `${of}: source ${uri}: logged model ${step.modelId} is not at ${registry.where}`,
          );
        uri = loggedModelOf(answer, `logged model ${step.modelId}`).artifactUri;
        break;
      }
      case "version":
        uri = (await registered(registry, step.name, step.version, ` (the source of ${of})`)).source;
        break;
      default:
        return { store: step, uri };
    }
  }
  throw new MlflowImportFailed(`${of}: source ${source}: more than ${MAX_HOPS} runs:/ and models:/ steps`);
}

function locationOf(uri: string): ArtifactLocation | undefined {
  try {
    return parseArtifactUri(uri);
  } catch {
    return undefined;
  }
}

/** `models:/NAME/VERSION`, or a JSON list of them, as the parent tag holds them. */
function parentRefs(value: string, of: string): Array<{ name: string; version: string }> {
  let uris: unknown = value;
  if (value.trim().startsWith("[")) {
    try {
      uris = JSON.parse(value);
    } catch {
      uris = undefined;
    }
  }
  const list = Array.isArray(uris) ? uris : [uris];
  return list.map((u) => {
    const where = typeof u === "string" ? locationOf(u.trim()) : undefined;
    if (where?.scheme !== "models")
      throw new MlflowImportFailed(
        `${of}: tag ${TAG_PARENT} ${JSON.stringify(value)}: expected models:/<name>/<version>, or a JSON list of them`,
      );
    return { name: where.name, version: where.version };
  });
}

async function parentsOf(
  registry: MlflowRegistry,
  version: RegisteredVersion | undefined,
  run: Run | undefined,
  of: string,
) {
  const tag = version?.tags[TAG_PARENT] ?? run?.tags[TAG_PARENT];
  if (tag === undefined)
    return {
      parents: [],
      notes: [`spec.parents: ${of} has no ${TAG_PARENT} tag (on the version or its run): no parent recorded`],
    };
  const parents = parentRefs(tag, of);
  for (const p of parents) await registered(registry, p.name, p.version, ` (the ${TAG_PARENT} of ${of})`);
  return { parents, notes: [] };
}

/** The digest a pipeline recorded at registration must still be the files' digest. */
function checkRecordedDigest(
  version: RegisteredVersion | undefined,
  artifact: HashedArtifact,
  of: string,
): string[] {
  const recorded = version?.tags[TAG_DIGEST];
  if (version === undefined) return [];
  if (recorded === undefined)
    return [
      `spec.artifact.digest: ${of} has no ${TAG_DIGEST} tag from its registration: the digest is of the files as they are now`,
    ];
  if (!/^sha256:[a-f0-9]{64}$/.test(recorded))
    throw new MlflowImportFailed(
      `${of}: tag ${TAG_DIGEST} ${JSON.stringify(recorded)} is not sha256:<64 hex>`,
    );
  if (recorded !== artifact.digest)
    throw new ArtifactChangedSinceRegistration(
      `${of}: the artifact changed after registration: its files hash to ${artifact.digest}, but its ${TAG_DIGEST} tag (recorded at registration) is ${recorded}; nothing was written`,
    );
  return [];
}

export async function importOne(request: ImportRequest, options: ImportOptions): Promise<Imported> {
  const { registry } = options;
  const of =
    request.kind === "version"
      ? versionUri(request.name, request.version)
      : `runs:/${request.runId}${request.path === "" ? "" : `/${request.path}`}`;
  const version =
    request.kind === "version" ? await registered(registry, request.name, request.version, "") : undefined;
  if (version !== undefined && version.status !== "READY")
    throw new MlflowImportFailed(`${of} is ${version.status}, not READY: its files may be incomplete`);
  const runId = request.kind === "run" ? request.runId : version?.runId;
  const run = runId === undefined ? undefined : await runNamed(registry, runId);
  if (request.kind === "run" && run === undefined)
    throw new MlflowImportFailed(`${of}: run ${request.runId} is not at ${registry.where}`);
  const { store, uri } = await storeOf(registry, version?.source ?? of, of);
  const artifact = await hashStore(store, registry, options);
  const digestNotes = checkRecordedDigest(version, artifact, of);
  const { parents, notes: parentNotes } = await parentsOf(registry, version, run, of);
  const imported = importedModelVersion({
    namespace: options.namespace,
    version: version ?? {
      name: request.kind === "run" ? request.model : "",
      version: request.version,
      source: of,
      status: "READY",
      tags: {},
      ...(runId === undefined ? {} : { runId }),
    },
    registryUri: of,
    run,
    storeUri: uri,
    deliverableUri: deliverableUri(store),
    artifact,
    parents,
  });
  const missingRun =
    runId !== undefined && run === undefined
      ? [
          `spec.training: run ${runId} of ${of} is not at ${registry.where}: training facts and datasets left out`,
        ]
      : [];
  return { ...imported, notes: [...missingRun, ...imported.notes, ...digestNotes, ...parentNotes] };
}

/** Every version of the registry, by name, then by version number. */
export async function allVersions(registry: MlflowRegistry): Promise<ImportRequest[]> {
  const versions = await registry.versions();
  return versions
    .sort((a, b) => (a.name === b.name ? Number(a.version) - Number(b.version) : a.name < b.name ? -1 : 1))
    .map((v) => ({ kind: "version", ...v }));
}
