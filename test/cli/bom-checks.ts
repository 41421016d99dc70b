// What every BOM `modelchain bom` writes must satisfy, checked against the ledger it came from:
// valid against the CycloneDX JSON schema (the library's own validator), every component's
// inclusion proof verifying against the stated tree head with the ledger's proof verifier and
// leading to the ledger's own leaf, every component saying what that entry records, and the
// signed head (note or IC certificate) verifying and consistent with the proven head.
import { Spec, Validation } from "@cyclonedx/cyclonedx-library";
import { expect } from "vitest";
import {
  hashFromHex,
  openCheckpointNote,
  verifyConsistency,
  verifyIcCheckpoint,
  verifyInclusion,
  type Ledger,
  type LedgerEntry,
  type NoteVerifier,
} from "../../src/ledger/index.ts";

export interface BomProperty {
  name: string;
  value: string;
}

export interface BomComponent {
  type: string;
  name: string;
  version?: string;
  "bom-ref": string;
  hashes?: Array<{ alg: string; content: string }>;
  properties?: BomProperty[];
  modelCard?: { modelParameters?: { datasets?: Array<{ ref: string }> }; properties?: BomProperty[] };
  data?: Array<{ type: string; name: string; contents?: { url?: string } }>;
}

export interface Bom {
  specVersion: string;
  metadata: { component: BomComponent; properties: BomProperty[] };
  components: BomComponent[];
  dependencies: Array<{ ref: string; dependsOn?: string[] }>;
}

export const values = (props: BomProperty[] | undefined, name: string): string[] =>
  (props ?? []).filter((p) => p.name === name).map((p) => p.value);

export function value(props: BomProperty[] | undefined, name: string): string {
  const [v, ...more] = values(props, name);
  expect(v, `property ${name}`).toBeDefined();
  expect(more, `property ${name} once`).toEqual([]);
  return v ?? "";
}

const VERSIONS: Record<string, Spec.Version> = { "1.6": Spec.Version.v1dot6, "1.7": Spec.Version.v1dot7 };

/** The library's JSON-schema verdict on a BOM: null when valid. */
export async function schemaErrors(text: string, version = "1.6"): Promise<unknown> {
  const spec = VERSIONS[version];
  if (spec === undefined) throw new Error(`no CycloneDX ${version} validator`);
  return new Validation.JsonValidator(spec).validate(text);
}

export const dependsOn = (bom: Bom, ref: string): string[] =>
  [...(bom.dependencies.find((d) => d.ref === ref)?.dependsOn ?? [])].sort();

const sha256 = (c: BomComponent): string | undefined => {
  const hash = c.hashes?.find((h) => h.alg === "SHA-256")?.content;
  return hash === undefined ? undefined : `sha256:${hash}`;
};

/** The component's inclusion proof verifies against the head and leads to the ledger's own leaf. */
async function provenEntry(c: BomComponent, head: { size: number; root: string }, ledger: Ledger) {
  const index = Number(value(c.properties, "modelchain:ledger:entryIndex"));
  const leafHash = value(c.properties, "modelchain:ledger:leafHash");
  const path = value(c.properties, "modelchain:ledger:inclusionProof")
    .split(",")
    .filter((h) => h !== "");
  expect(
    () =>
      verifyInclusion(
        index,
        head.size,
        hashFromHex(leafHash),
        path.map((h) => hashFromHex(h)),
        hashFromHex(head.root),
      ),
    `${c["bom-ref"]}: inclusion proof of entry ${index}`,
  ).not.toThrow();
  const leaf = await ledger.get(index);
  expect(leaf.leafHash, `${c["bom-ref"]}: entry ${index}'s leaf`).toBe(leafHash);
  expect(value(c.properties, "modelchain:ledger:entryKind")).toBe(leaf.envelope.entry.kind);
  return leaf.envelope.entry;
}

const entryIndex = (c: BomComponent): number => Number(value(c.properties, "modelchain:ledger:entryIndex"));
const nameOf = (e: LedgerEntry) => `${e.subject.namespace ?? ""}/${e.subject.name}`;
const datasetsOf = (e: LedgerEntry) =>
  (e.data["datasets"] ?? []) as Array<{ name: string; digest: string | null }>;

function checkModel(bom: Bom, c: BomComponent, e: LedgerEntry): void {
  const d = e.data as { model: string; version: string; artifact: { digest: string }; parents: string[] };
  expect(e.kind).toBe("ModelVersionRegistered");
  expect([c.name, c.version, sha256(c)]).toEqual([d.model, d.version, d.artifact.digest]);
  expect(value(c.properties, "modelchain:modelVersion")).toBe(nameOf(e));
  expect(values(c.properties, "modelchain:lineage:signedBy")).toEqual(e.data["signedBy"]);
  expect(value(c.properties, "modelchain:lineage:verified")).toBe(String(e.data["verified"]));
  const byRef = new Map(bom.components.map((x) => [x["bom-ref"], x] as const));
  const cardDatasets = (c.modelCard?.modelParameters?.datasets ?? []).map((r) => {
    const x = byRef.get(r.ref);
    if (x === undefined) throw new Error(`${c["bom-ref"]}: model card names ${r.ref}, which is no component`);
    return x;
  });
  expect(cardDatasets.map((x) => [x.type, x.name, sha256(x)]).sort()).toEqual(
    datasetsOf(e)
      .map((x) => ["data", x.name, x.digest ?? undefined])
      .sort(),
  );
  const training = (e.data["training"] ?? {}) as { parameters?: Record<string, string> };
  for (const [k, v] of Object.entries(training.parameters ?? {}))
    expect(value(c.modelCard?.properties, `modelchain:training:parameter:${k}`)).toBe(v);
  // A parent is linked by its first registration (the lowest entry index of that name).
  const registrations = bom.components
    .filter((x) => x.type === "machine-learning-model")
    .sort((a, b) => entryIndex(a) - entryIndex(b));
  const parents = d.parents.flatMap((name) => {
    const first = registrations.find((x) => values(x.properties, "modelchain:modelVersion")[0] === name);
    return first === undefined ? [] : [first];
  });
  expect(dependsOn(bom, c["bom-ref"])).toEqual(
    [...parents.map((p) => p["bom-ref"]), ...cardDatasets.map((x) => x["bom-ref"])].sort(),
  );
}

function checkComponent(bom: Bom, c: BomComponent, e: LedgerEntry): void {
  if (c.type === "machine-learning-model") return checkModel(bom, c, e);
  if (c.type === "data") {
    expect(e.kind).toBe("ModelVersionRegistered");
    expect(datasetsOf(e).some((x) => x.name === c.name && (x.digest ?? undefined) === sha256(c))).toBe(true);
    return;
  }
  expect(c.type).toBe("container");
  expect(e.kind).toBe("RolloutStarted");
  // Version 2 entries name `images` by container, version 1 a single `image`.
  const v2 = e.data["images"];
  const images = typeof v2 === "object" && v2 !== null ? Object.values(v2) : [e.data["image"]];
  expect(images).toContain(c["bom-ref"]);
  const digest = sha256(c);
  if (digest === undefined) expect(value(c.properties, "modelchain:image:pinnedByDigest")).toBe("false");
  else expect(c["bom-ref"].endsWith(`@${digest}`)).toBe(true);
}

export interface SignedHeadTrust {
  /** The file ledger's log key, for its signed note. */
  logKey?: NoteVerifier;
  /** The IC root key, for the certificate. */
  icRootKey?: Uint8Array;
}

/** The signed head: its note or certificate verifies, and the proven head is consistent with it. */
async function checkSignedHead(
  bom: Bom,
  head: { size: number; root: string },
  trust: SignedHeadTrust,
): Promise<CheckedBom["signed"]> {
  const props = bom.metadata.properties;
  if (values(props, "modelchain:checkpoint:treeSize").length === 0) return undefined;
  const signed = {
    size: Number(value(props, "modelchain:checkpoint:treeSize")),
    root: value(props, "modelchain:checkpoint:root"),
  };
  const [note] = values(props, "modelchain:checkpoint:note");
  const [certificate] = values(props, "modelchain:checkpoint:certificate");
  if (note !== undefined) {
    if (trust.logKey === undefined) throw new Error("a signed note, but no log key to check it");
    expect(openCheckpointNote(note, trust.logKey).head).toMatchObject(signed);
  } else {
    expect(certificate, "a note or a certificate").toBeDefined();
    await verifyIcCheckpoint(
      {
        ...signed,
        keyId: value(props, "modelchain:checkpoint:keyId"),
        timestamp: value(props, "modelchain:checkpoint:timestamp"),
        signature: certificate ?? "",
        origin: "ic",
      },
      trust.icRootKey,
    );
  }
  const proof = value(props, "modelchain:checkpoint:consistencyProof")
    .split(",")
    .filter((h) => h !== "");
  const [small, large] = signed.size <= head.size ? [signed, head] : [head, signed];
  if (small.size === large.size) expect(small.root).toBe(large.root);
  else
    verifyConsistency(
      small.size,
      large.size,
      proof.map((h) => hashFromHex(h)),
      hashFromHex(small.root),
      hashFromHex(large.root),
    );
  return { ...signed, via: note === undefined ? "certificate" : "note" };
}

export interface CheckedBom {
  bom: Bom;
  head: { size: number; root: string };
  signed: { size: number; root: string; via: "note" | "certificate" } | undefined;
}

/** Every check above; returns the BOM, its head and signed head for the test's own expectations. */
export async function checkBom(
  text: string,
  ledger: Ledger,
  trust: SignedHeadTrust = {},
  version = "1.6",
): Promise<CheckedBom> {
  expect(await schemaErrors(text, version)).toBeNull();
  const bom = JSON.parse(text) as Bom;
  expect(bom.specVersion).toBe(version);
  const props = bom.metadata.properties;
  const head = {
    size: Number(value(props, "modelchain:ledger:treeSize")),
    root: value(props, "modelchain:ledger:root"),
  };
  expect(await ledger.root(head.size)).toBe(head.root);
  for (const c of bom.components) checkComponent(bom, c, await provenEntry(c, head, ledger));
  const deployment = await provenEntry(bom.metadata.component, head, ledger);
  expect([deployment.kind, deployment.subject.kind]).toEqual(["RolloutStarted", "ModelDeployment"]);
  const signed = await checkSignedHead(bom, head, trust);
  return { bom, head, signed };
}

export interface Inventory {
  images: string[];
  models: string[];
  datasets: string[];
  deploymentDependsOn: string[];
}

/** The BOM's inventory, for comparing with what a test recorded. */
export function inventory(bom: Bom): Inventory {
  const ofType = (type: string) =>
    bom.components
      .filter((c) => c.type === type)
      .map((c) => c["bom-ref"])
      .sort();
  return {
    images: ofType("container"),
    models: ofType("machine-learning-model").map((r) => r.replace(/@sha256:.*$/, "")),
    datasets: ofType("data").map((r) => r.replace(/@.*$/, "")),
    deploymentDependsOn: dependsOn(bom, bom.metadata.component["bom-ref"]).map((r) =>
      r.startsWith("ModelVersion/") ? r.replace(/@sha256:.*$/, "") : r,
    ),
  };
}
