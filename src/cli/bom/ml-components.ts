// What @cyclonedx/cyclonedx-library (10.x) does not model yet: a machine-learning-model
// component's `modelCard` and a data component's `data` (CycloneDX 1.5+, §components_items_modelCard
// and §components_items_data). The library's own extension point carries them: a Component subclass
// with the two fields, and a JSON normalizer factory whose component normalizer adds them to what the
// library normalizes. Everything else in the BOM is the library's models and normalizers; the
// tests validate the result against the library's CycloneDX JSON schema.
import * as Models from "@cyclonedx/cyclonedx-library/Models";
import * as Serialize from "@cyclonedx/cyclonedx-library/Serialize";

/** A CycloneDX version as the library describes it (`Spec.Spec1dot6`, …). */
export type CycloneDxSpec = ConstructorParameters<typeof Serialize.JSON.Normalize.Factory>[0];

type NormalizerOptions = Parameters<Serialize.JSON.Normalize.ComponentNormalizer["normalize"]>[1];

/** A model card: the datasets a model was trained on, by bom-ref, and its training facts. */
export class ModelCard {
  readonly datasets = new Models.BomRefRepository();
  readonly properties = new Models.PropertyRepository();
}

/** One `data` entry of a data component (componentData, type `dataset`). */
export interface DatasetDescription {
  name: string;
  /** Where the data can be retrieved. */
  url: string;
}

/** A component that may carry a model card (machine-learning-model) or data (data). */
export class MlComponent extends Models.Component {
  modelCard?: ModelCard;
  data: DatasetDescription[] = [];
}

interface NormalizedModelCard {
  modelParameters?: { datasets: Array<{ ref: string }> };
  properties?: Serialize.JSON.Types.Normalized.Property[];
}

interface NormalizedComponentData {
  type: "dataset";
  name: string;
  contents: { url: string };
}

type NormalizedMlComponent = Serialize.JSON.Types.Normalized.Component & {
  modelCard?: NormalizedModelCard;
  data?: NormalizedComponentData[];
};

class MlComponentNormalizer extends Serialize.JSON.Normalize.ComponentNormalizer {
  override normalize(
    component: Models.Component,
    options: NormalizerOptions,
  ): NormalizedMlComponent | undefined {
    const normalized = super.normalize(component, options);
    if (normalized === undefined || !(component instanceof MlComponent)) return normalized;
    return {
      ...normalized,
      ...(component.modelCard === undefined
        ? {}
        : { modelCard: this.modelCard(component.modelCard, options) }),
      ...(component.data.length === 0
        ? {}
        : {
            data: component.data.map((d) => ({
              type: "dataset" as const,
              name: d.name,
              contents: { url: d.url },
            })),
          }),
    };
  }

  private modelCard(card: ModelCard, options: NormalizerOptions): NormalizedModelCard {
    // Read at normalize time: the serializer makes bom-ref values unique just before it normalizes.
    const datasets = [...card.datasets].map((ref) => ({ ref: ref.toString() }));
    return {
      ...(datasets.length === 0 ? {} : { modelParameters: { datasets } }),
      ...(card.properties.size === 0
        ? {}
        : { properties: this._factory.makeForProperty().normalizeIterable(card.properties, options) }),
    };
  }
}

class MlNormalizerFactory extends Serialize.JSON.Normalize.Factory {
  override makeForComponent(): Serialize.JSON.Normalize.ComponentNormalizer {
    return new MlComponentNormalizer(this);
  }
}

/** The BOM as CycloneDX JSON of `spec`, model cards and data included. */
export function mlBomJson(bom: Models.Bom, spec: CycloneDxSpec): string {
  const serializer = new Serialize.JsonSerializer(new MlNormalizerFactory(spec));
  return `${serializer.serialize(bom, { space: 2 })}\n`;
}
