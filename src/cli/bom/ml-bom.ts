// The verified history of one ModelDeployment (one cluster and uid of `history`) as a CycloneDX
// ML-BOM (pure): the serving images as container components, the model versions it served and
// their ancestors as machine-learning-model components with a model card, their datasets as data
// components; parents and datasets as dependencies. Every component names the ledger entry that
// recorded it with the RFC 6962 inclusion proof to the tree head in the BOM's metadata.
import * as Enums from "@cyclonedx/cyclonedx-library/Enums";
import * as Models from "@cyclonedx/cyclonedx-library/Models";
import { subjectName, type ChainItem, type HistoryGroup } from "../history/chain.ts";
import { ModelCard, MlComponent } from "./ml-components.ts";
import { containerImage, digestHash, props } from "./component-parts.ts";
import {
  ledgerProperties,
  metadataProperties,
  type ProvenHead,
  type SignedHead,
} from "./ledger-properties.ts";
import { record, rolloutImages, str, strings } from "./entry-data.ts";

export interface BomInput {
  namespace: string;
  name: string;
  group: HistoryGroup;
  head: ProvenHead;
  signed: SignedHead | undefined;
  tools: ReadonlyArray<{ name: string; version: string }>;
  timestamp: Date;
  serialNumber: string;
}

function addAll<T>(set: { add(value: T): unknown }, values: Iterable<T>): void {
  for (const v of values) set.add(v);
}

/** A dataset is one whatever model names it: the same name, URI and digest. */
type DatasetKey = string;
const datasetKey = (name: string, uri: string, digest: string | null): DatasetKey =>
  JSON.stringify([name, uri, digest]);

/** The key of a dataset as a ModelVersionRegistered entry records it. */
function recordedDatasetKey(recorded: unknown): DatasetKey {
  const d = record(recorded);
  return datasetKey(str(d["name"]), str(d["uri"]), typeof d["digest"] === "string" ? d["digest"] : null);
}

/** One data component per distinct dataset, proven by the first registration that names it. */
function datasetComponents(
  group: HistoryGroup,
  byIndex: Map<number, ChainItem>,
): Map<DatasetKey, MlComponent> {
  const components = new Map<DatasetKey, MlComponent>();
  for (const d of group.datasets) {
    const key = datasetKey(d.name, d.uri, d.digest);
    const known = components.get(key);
    if (known !== undefined) {
      addAll(known.properties, props([["modelchain:dataset:usedBy", d.usedBy]]));
      continue;
    }
    const c = new MlComponent(Enums.ComponentType.Data, d.name, {
      bomRef: `dataset/${d.name}@${d.digest ?? d.uri}`,
    });
    if (URL.canParse(d.uri)) c.data.push({ name: d.name, url: d.uri });
    const hash = d.digest === null ? undefined : digestHash(d.digest);
    if (hash !== undefined) c.hashes.set(...hash);
    addAll(
      c.properties,
      props([
        ["modelchain:dataset:uri", d.uri],
        ["modelchain:dataset:digest", d.digest ?? "NOT PINNED"],
        ["modelchain:dataset:usedBy", d.usedBy],
      ]),
    );
    const recorded = byIndex.get(d.index);
    if (recorded !== undefined) addAll(c.properties, ledgerProperties(recorded));
    components.set(key, c);
  }
  return components;
}

/** The training run's facts, as the model card's properties. */
function trainingProperties(training: Record<string, unknown>): Models.Property[] {
  const facts = ["runId", "codeRepository", "codeCommit", "framework", "startedAt", "finishedAt"];
  const parameters = Object.entries(record(training["parameters"])).map(
    ([k, v]) => [`modelchain:training:parameter:${k}`, str(v)] as const,
  );
  return props([
    ...facts
      .filter((f) => training[f] !== undefined)
      .map((f) => [`modelchain:training:${f}`, str(training[f])] as const),
    ...parameters,
  ]);
}

function modelCard(item: ChainItem, datasets: Map<DatasetKey, MlComponent>): ModelCard {
  const card = new ModelCard();
  for (const d of Array.isArray(item.data["datasets"]) ? item.data["datasets"] : []) {
    const c = datasets.get(recordedDatasetKey(d));
    if (c !== undefined) card.datasets.add(c.bomRef);
  }
  addAll(card.properties, trainingProperties(record(item.data["training"])));
  return card;
}

function modelExternalReferences(c: MlComponent, data: Record<string, unknown>): void {
  const artifact = record(data["artifact"]);
  const uri = str(artifact["uri"]);
  if (URL.canParse(uri))
    c.externalReferences.add(
      new Models.ExternalReference(uri, Enums.ExternalReferenceType.Distribution, {
        comment: `model artifact, signed digest ${str(artifact["digest"])}`,
      }),
    );
  const training = record(data["training"]);
  const repository = str(training["codeRepository"]);
  if (URL.canParse(repository))
    c.externalReferences.add(
      new Models.ExternalReference(repository, Enums.ExternalReferenceType.VCS, {
        comment:
          training["codeCommit"] === undefined
            ? "training code"
            : `training code at commit ${str(training["codeCommit"])}`,
      }),
    );
}

function modelComponent(item: ChainItem, datasets: Map<DatasetKey, MlComponent>): MlComponent {
  const d = item.data;
  const artifact = record(d["artifact"]);
  const c = new MlComponent(Enums.ComponentType.MachineLearningModel, str(d["model"]) || subjectName(item), {
    bomRef: `ModelVersion/${subjectName(item)}@${str(d["specDigest"])}`,
    version: str(d["version"]),
  });
  const hash = digestHash(str(artifact["digest"]));
  if (hash !== undefined) c.hashes.set(...hash);
  modelExternalReferences(c, d);
  c.modelCard = modelCard(item, datasets);
  addAll(
    c.properties,
    props([
      ["modelchain:modelVersion", subjectName(item)],
      ["modelchain:uid", item.uid ?? ""],
      ["modelchain:specDigest", str(d["specDigest"])],
      ["modelchain:artifact:uri", str(artifact["uri"])],
      ["modelchain:artifact:digest", str(artifact["digest"])],
      ...strings(d["parents"]).map((p) => ["modelchain:parent", p] as const),
      ["modelchain:lineage:verified", d["verified"] === true ? "true" : "false"],
      ...strings(d["signedBy"]).map((k) => ["modelchain:lineage:signedBy", k] as const),
      ...strings(d["failedChecks"]).map((f) => ["modelchain:lineage:failedCheck", f] as const),
    ]),
  );
  addAll(c.properties, ledgerProperties(item));
  return c;
}

/** The model components, their parents and datasets linked as dependencies. */
function modelComponents(
  group: HistoryGroup,
  datasets: Map<DatasetKey, MlComponent>,
): Map<ChainItem, MlComponent> {
  const models = new Map(group.modelVersions.map((m) => [m, modelComponent(m, datasets)] as const));
  // A parent registered more than once (its spec changed) is linked by its first registration:
  // the one "recorded" means (trail/registrations.ts).
  const firstByName = new Map<string, MlComponent>();
  for (const [item, c] of models)
    if (!firstByName.has(subjectName(item))) firstByName.set(subjectName(item), c);
  for (const [item, c] of models) {
    for (const parent of strings(item.data["parents"])) {
      const p = firstByName.get(parent);
      if (p !== undefined) c.dependencies.add(p.bomRef);
    }
    addAll(c.dependencies, c.modelCard?.datasets ?? []);
  }
  return models;
}

/** The serving images the rollouts ran, each proven by the first rollout that ran it. */
function imageComponents(rollouts: readonly ChainItem[]): Map<string, Models.Component> {
  const images = new Map<string, Models.Component>();
  for (const r of rollouts) {
    for (const [container, image] of Object.entries(rolloutImages(r.data))) {
      const known = images.get(image);
      const c = known ?? containerImage(image);
      const named = [...c.properties].some((p) => p.name === "modelchain:container" && p.value === container);
      if (!named) c.properties.add(new Models.Property("modelchain:container", container));
      c.properties.add(new Models.Property("modelchain:rollout:revision", str(r.data["revision"])));
      if (known === undefined) {
        addAll(c.properties, ledgerProperties(r));
        images.set(image, c);
      }
    }
  }
  return images;
}

function deploymentComponent(input: BomInput, rollouts: readonly ChainItem[]): Models.Component {
  const c = new Models.Component(Enums.ComponentType.Application, input.name, {
    group: input.namespace,
    bomRef: `ModelDeployment/${input.namespace}/${input.name}`,
    description: `ModelDeployment ${input.namespace}/${input.name} in cluster ${input.group.cluster || "(none)"}`,
  });
  addAll(
    c.properties,
    props([
      ["modelchain:kind", "ModelDeployment"],
      ["modelchain:cluster", input.group.cluster],
      ["modelchain:uid", input.group.uid ?? ""],
    ]),
  );
  const latest = rollouts.at(-1);
  if (latest !== undefined) {
    addAll(
      c.properties,
      props([
        ["modelchain:rollout:revision", str(latest.data["revision"])],
        ["modelchain:rollout:configHash", str(latest.data["configHash"])],
      ]),
    );
    addAll(c.properties, ledgerProperties(latest));
  }
  return c;
}

/** What a rollout served: the model of the spec digest it names, else every spec of the name. */
function served(rollout: ChainItem, namespace: string, models: Map<ChainItem, MlComponent>): MlComponent[] {
  const name = `${namespace}/${str(rollout.data["modelVersion"])}`;
  const ofName = [...models].filter(([m]) => subjectName(m) === name);
  const exact = ofName.filter(([m]) => m.data["specDigest"] === rollout.data["modelSpecDigest"]);
  return (exact.length > 0 ? exact : ofName).map(([, c]) => c);
}

function metadata(input: BomInput, deployment: Models.Component): Models.Metadata {
  const meta = new Models.Metadata({ timestamp: input.timestamp, component: deployment });
  meta.lifecycles.add(Enums.LifecyclePhase.Operations);
  for (const tool of input.tools)
    meta.tools.components.add(
      new Models.Component(Enums.ComponentType.Application, tool.name, { version: tool.version }),
    );
  addAll(meta.properties, metadataProperties(input.head, input.signed));
  return meta;
}

export function mlBom(input: BomInput): Models.Bom {
  const { group } = input;
  const rollouts = group.events.filter((e) => e.kind === "RolloutStarted");
  const byIndex = new Map(group.modelVersions.map((m) => [m.index, m] as const));
  const datasets = datasetComponents(group, byIndex);
  const models = modelComponents(group, datasets);
  const images = imageComponents(rollouts);
  const deployment = deploymentComponent(input, rollouts);
  for (const r of rollouts) {
    for (const m of served(r, input.namespace, models)) {
      deployment.dependencies.add(m.bomRef);
      addAll(m.properties, props([["modelchain:rollout:revision", str(r.data["revision"])]]));
    }
  }
  addAll(
    deployment.dependencies,
    [...images.values()].map((c) => c.bomRef),
  );
  const bom = new Models.Bom({ metadata: metadata(input, deployment), serialNumber: input.serialNumber });
  addAll(bom.components, [...images.values(), ...models.values(), ...datasets.values()]);
  return bom;
}
