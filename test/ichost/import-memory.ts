// Reads and rewrites a canister module for the host: the module's own memory becomes an import
// (env.mem), so the host creates the memory itself and owns it from before `(start)` runs — on
// install a fresh one, on an upgrade with wasm_memory_persistence = keep the old one.
import { concat, uleb as leb } from "./wasm-bytes.ts";

function readLeb(bytes: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++] ?? 0;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, at];
    shift += 7;
  }
}

interface Section {
  id: number;
  body: Uint8Array;
}

function sections(wasm: Uint8Array): Section[] {
  const out: Section[] = [];
  for (let at = 8; at < wasm.length;) {
    const id = wasm[at] ?? 0;
    const [size, start] = readLeb(wasm, at + 1);
    out.push({ id, body: wasm.subarray(start, start + size) });
    at = start + size;
  }
  return out;
}

const text = (s: string): Uint8Array =>
  Uint8Array.from([...leb(new TextEncoder().encode(s).byteLength), ...new TextEncoder().encode(s)]);

/** The memory a module declares: its limits in pages and whether it is a 64-bit memory. */
export interface DeclaredMemory {
  min: number;
  max: number | undefined;
  memory64: boolean;
  /** The limits exactly as encoded, for the import that replaces the declaration. */
  limits: Uint8Array;
}

export function declaredMemory(wasm: Uint8Array): DeclaredMemory {
  const memory = sections(wasm).find((s) => s.id === 5);
  if (memory === undefined) throw new Error("module declares no memory");
  const [count, at] = readLeb(memory.body, 0);
  if (count !== 1) throw new Error(`module declares ${count} memories, want 1`);
  const flags = memory.body[at] ?? 0;
  const [min, afterMin] = readLeb(memory.body, at + 1);
  const max = (flags & 1) === 1 ? readLeb(memory.body, afterMin)[0] : undefined;
  return { min, max, memory64: (flags & 4) === 4, limits: memory.body.subarray(at) };
}

/**
 * Whether the module carries the custom section `icp:public <name>` or `icp:private <name>`
 * (the replica reads both as the canister's metadata `<name>`).
 */
export function hasMetadata(wasm: Uint8Array, name: string): boolean {
  return sections(wasm).some((s) => {
    if (s.id !== 0) return false;
    const [size, at] = readLeb(s.body, 0);
    const section = new TextDecoder().decode(s.body.subarray(at, at + size));
    return section === `icp:public ${name}` || section === `icp:private ${name}`;
  });
}

/** Active data segments turned passive (their bytes stay, so segment indices keep their meaning). */
function passiveData(body: Uint8Array): Uint8Array {
  const [count, first] = readLeb(body, 0);
  const out: Uint8Array[] = [Uint8Array.from(leb(count))];
  let at = first;
  for (let i = 0; i < count; i++) {
    const [flags, afterFlags] = readLeb(body, at);
    at = afterFlags;
    if (flags === 2) at = readLeb(body, at)[1];
    if (flags === 0 || flags === 2) {
      while (body[at] !== 0x0b) at++;
      at++;
    }
    const [size, bytesAt] = readLeb(body, at);
    out.push(Uint8Array.from([0x01, ...leb(size)]), body.subarray(bytesAt, bytesAt + size));
    at = bytesAt + size;
  }
  return concat(out);
}

/**
 * The module with its memory imported as env.mem. `applyData: false` also turns active data
 * segments passive: on an upgrade that keeps main memory the replica builds the new module's
 * initial memory (where its active segments would land) and then discards it for the old one.
 */
export function withImportedMemory(wasm: Uint8Array, options: { applyData: boolean }): Uint8Array {
  const { limits } = declaredMemory(wasm);
  const all = sections(wasm);
  const imports = all.find((s) => s.id === 2);
  if (imports === undefined) throw new Error("module has no import section to add the memory to");
  const [count, entriesAt] = readLeb(imports.body, 0);
  imports.body = concat([
    Uint8Array.from(leb(count + 1)),
    imports.body.subarray(entriesAt),
    text("env"),
    text("mem"),
    Uint8Array.of(0x02),
    limits,
  ]);
  const data = all.find((s) => s.id === 11);
  if (data !== undefined && !options.applyData) data.body = passiveData(data.body);
  const out: Uint8Array[] = [wasm.subarray(0, 8)];
  for (const s of all) {
    if (s.id !== 5) out.push(Uint8Array.from([s.id, ...leb(s.body.byteLength)]), s.body);
  }
  return concat(out);
}
