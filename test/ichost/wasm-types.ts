// Reads a wasm module's import signatures (type + import sections), so the host can give each
// ic0 function the right JS types: i64 values cross as BigInt, i32 as number.
type ValType = "i32" | "i64" | "f32" | "f64" | "other";
export interface Signature {
  params: ValType[];
  results: ValType[];
}

class Reader {
  at = 0;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  byte(): number {
    return this.bytes[this.at++] ?? 0;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }
  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
}

const VAL: Record<number, ValType> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" };

/** `ic0.<name>` → signature, for every function the module imports. */
export function importSignatures(wasm: Uint8Array): Map<string, Signature> {
  const r = new Reader(wasm);
  r.at = 8;
  const types: Signature[] = [];
  const imports = new Map<string, Signature>();
  while (r.at < wasm.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.at + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        r.byte(); // 0x60: func
        const params = Array.from({ length: r.u32() }, () => VAL[r.byte()] ?? "other");
        const results = Array.from({ length: r.u32() }, () => VAL[r.byte()] ?? "other");
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const field = r.name();
        const kind = r.byte();
        if (kind === 0) imports.set(`${module}.${field}`, types[r.u32()] ?? { params: [], results: [] });
        else break; // memories/tables/globals are not imported by Motoko canisters
      }
    }
    r.at = end;
  }
  return imports;
}
