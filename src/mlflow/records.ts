// MLflow's REST answers read into typed records (pure). What MLflow sends is checked field by
// field, never cast: a missing or mistyped field is an MlflowAnswerInvalid naming it.

/** `GET /api/2.0/mlflow/model-versions/get` → `model_version`. */
export interface RegisteredVersion {
  name: string;
  version: string;
  /** Where the version's files are: a store URI, runs:/…, or models:/m-… (MLflow 3 logged model). */
  source: string;
  runId?: string;
  status: string;
  tags: Record<string, string>;
}

/** One `run.inputs.dataset_inputs[]` entry. */
export interface DatasetInput {
  name: string;
  /** MLflow's own digest of the data (at most 36 characters: never a SHA-256). */
  digest?: string;
  sourceType?: string;
  /** JSON the dataset source wrote (`{"url": …}`, `{"uri": …}`, `{"path": …}`). */
  source?: string;
  tags: Record<string, string>;
}

/** `GET /api/2.0/mlflow/runs/get` → `run`. */
export interface Run {
  runId: string;
  status?: string;
  lifecycleStage?: string;
  /** Milliseconds since the Unix epoch. */
  startTime?: number;
  endTime?: number;
  artifactUri: string;
  params: Record<string, string>;
  /** The latest value of each metric. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
  datasets: DatasetInput[];
  /** MLflow 3 logged models the run used as inputs (model ids). */
  modelInputs: string[];
}

/** `GET /api/2.0/mlflow/logged-models/{id}` → `model` (MLflow 3). */
export interface LoggedModel {
  modelId: string;
  artifactUri: string;
  sourceRunId?: string;
}

export class MlflowAnswerInvalid extends Error {
  override readonly name = "MlflowAnswerInvalid";
  constructor(what: string, field: string, problem: string) {
    super(`mlflow: ${what}: ${field} ${problem}`);
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

class Reader {
  private readonly what: string;
  private readonly prefix: string;
  private readonly value: Json;

  constructor(what: string, prefix: string, value: Json) {
    this.what = what;
    this.prefix = prefix;
    this.value = value;
  }

  static of(what: string, root: unknown, key: string): Reader {
    if (!isObject(root)) throw new MlflowAnswerInvalid(what, "(answer)", "is not a JSON object");
    const inner = root[key];
    if (!isObject(inner)) throw new MlflowAnswerInvalid(what, key, "is missing or not an object");
    return new Reader(what, key, inner);
  }

  private fail(key: string, problem: string): never {
    throw new MlflowAnswerInvalid(this.what, `${this.prefix}.${key}`, problem);
  }

  string(key: string): string {
    const v = this.value[key];
    if (typeof v !== "string" || v === "") this.fail(key, "is missing or not a string");
    return v;
  }

  optionalString(key: string): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") this.fail(key, "is not a string");
    return v;
  }

  /** MLflow sends int64s (timestamps, sizes) as numbers, or as strings (proto3 JSON). */
  optionalWhole(key: string): number | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) this.fail(key, "is not a timestamp");
    return n;
  }

  flag(key: string): boolean {
    return this.value[key] === true;
  }

  child(key: string): Reader {
    const v = this.value[key];
    return new Reader(this.what, `${this.prefix}.${key}`, isObject(v) ? v : {});
  }

  objects(key: string): Reader[] {
    const v = this.value[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(key, "is not a list");
    return v.map((item, i) => {
      if (!isObject(item)) this.fail(`${key}[${i}]`, "is not an object");
      return new Reader(this.what, `${this.prefix}.${key}[${i}]`, item);
    });
  }

  /** MLflow's `[{key, value}]` lists (params, tags) as a record. */
  pairs(key: string): Record<string, string> {
    return Object.fromEntries(
      this.objects(key).map((p) => [p.string("key"), p.optionalString("value") ?? ""]),
    );
  }

  metrics(key: string): Record<string, number> {
    return Object.fromEntries(
      this.objects(key).map((m) => {
        const v = m.value["value"];
        const n = typeof v === "string" ? Number(v) : v;
        return [m.string("key"), typeof n === "number" ? n : m.fail("value", "is not a number")];
      }),
    );
  }
}

export function registeredVersionOf(answer: unknown, what: string): RegisteredVersion {
  const mv = Reader.of(what, answer, "model_version");
  const runId = mv.optionalString("run_id");
  return {
    name: mv.string("name"),
    version: mv.string("version"),
    source: mv.string("source"),
    ...(runId === undefined ? {} : { runId }),
    status: mv.optionalString("status") ?? "READY",
    tags: mv.pairs("tags"),
  };
}

function datasetInputOf(input: Reader): DatasetInput {
  const d = input.child("dataset");
  const digest = d.optionalString("digest");
  const sourceType = d.optionalString("source_type");
  const source = d.optionalString("source");
  return {
    name: d.string("name"),
    ...(digest === undefined ? {} : { digest }),
    ...(sourceType === undefined ? {} : { sourceType }),
    ...(source === undefined ? {} : { source }),
    tags: input.pairs("tags"),
  };
}

export function runOf(answer: unknown, what: string): Run {
  const run = Reader.of(what, answer, "run");
  const info = run.child("info");
  const data = run.child("data");
  const inputs = run.child("inputs");
  const optional = <K extends string, V>(key: K, v: V | undefined) =>
    v === undefined ? {} : ({ [key]: v } as { [P in K]: V });
  return {
    runId: info.optionalString("run_id") ?? info.string("run_uuid"),
    ...optional("status", info.optionalString("status")),
    ...optional("lifecycleStage", info.optionalString("lifecycle_stage")),
    ...optional("startTime", info.optionalWhole("start_time")),
    ...optional("endTime", info.optionalWhole("end_time")),
    artifactUri: info.string("artifact_uri"),
    params: data.pairs("params"),
    metrics: data.metrics("metrics"),
    tags: data.pairs("tags"),
    datasets: inputs.objects("dataset_inputs").map(datasetInputOf),
    modelInputs: inputs.objects("model_inputs").map((m) => m.string("model_id")),
  };
}

export function loggedModelOf(answer: unknown, what: string): LoggedModel {
  const info = Reader.of(what, answer, "model").child("info");
  const sourceRunId = info.optionalString("source_run_id");
  return {
    modelId: info.string("model_id"),
    artifactUri: info.string("artifact_uri"),
    ...(sourceRunId === undefined ? {} : { sourceRunId }),
  };
}

/** `model-versions/search` → `model_versions[]` names, and the next page's token. */
export function versionPageOf(
  answer: unknown,
  what: string,
): { versions: Array<{ name: string; version: string }>; next?: string } {
  if (!isObject(answer)) throw new MlflowAnswerInvalid(what, "(answer)", "is not a JSON object");
  const page = new Reader(what, "(answer)", answer);
  const next = page.optionalString("next_page_token");
  return {
    versions: page
      .objects("model_versions")
      .map((v) => ({ name: v.string("name"), version: v.string("version") })),
    ...(next === undefined ? {} : { next }),
  };
}

/** The answer's `files` of an artifact listing (`mlflow-artifacts/artifacts?path=`). */
export function artifactListingOf(
  answer: unknown,
  what: string,
): Array<{ path: string; isDir: boolean; size?: number }> {
  if (!isObject(answer)) throw new MlflowAnswerInvalid(what, "(answer)", "is not a JSON object");
  return new Reader(what, "(answer)", answer).objects("files").map((f) => {
    const size = f.optionalWhole("file_size");
    return { path: f.string("path"), isDir: f.flag("is_dir"), ...(size === undefined ? {} : { size }) };
  });
}
