// Rewrites a module that defines its (single) memory into one that imports it as env.mem, so an
// upgrade can start the new code on the old memory — what the replica does for canisters with
// Motoko's enhanced orthogonal persistence, whose heap is the persistent state.
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function readLeb(bytes: Uint8Array, at: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++] ?? 0;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result >>> 0, at];
    shift += 7;
  }
}

/** Turns active data segments passive: the old memory already holds the program's static data. */
function passiveData(body: Uint8Array): Uint8Array {
  const [count, first] = readLeb(body, 0);
  const out: number[] = [...leb(count)];
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
    out.push(0x01, ...leb(size));
    for (let j = 0; j < size; j += 65536) out.push(...body.subarray(bytesAt + j, bytesAt + Math.min(size, j + 65536)));
    at = bytesAt + size;
  }
  return Uint8Array.from(out);
}

export function withImportedMemory(wasm: Uint8Array): Uint8Array {
  const sections: Array<{ id: number; body: Uint8Array }> = [];
  for (let at = 8; at < wasm.length; ) {
    const id = wasm[at] ?? 0;
    const [size, start] = readLeb(wasm, at + 1);
    sections.push({ id, body: wasm.subarray(start, start + size) });
    at = start + size;
  }
  const memory = sections.find((s) => s.id === 5);
  const imports = sections.find((s) => s.id === 2);
  if (memory === undefined || imports === undefined) throw new Error("module has no memory or import section to rewrite");
  const [memories, limitsAt] = readLeb(memory.body, 0);
  if (memories !== 1) throw new Error(`module defines ${memories} memories, want 1`);
  const limits = memory.body.subarray(limitsAt);
  const [count, entriesAt] = readLeb(imports.body, 0);
  const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
  imports.body = Uint8Array.from([...leb(count + 1), ...imports.body.subarray(entriesAt), ...name("env"), ...name("mem"), 0x02, ...limits]);
  const data = sections.find((s) => s.id === 11);
  if (data !== undefined) data.body = passiveData(data.body);
  const out: number[] = [...wasm.subarray(0, 8)];
  for (const s of sections) {
    if (s.id === 5) continue;
    out.push(s.id, ...leb(s.body.length));
    for (let i = 0; i < s.body.length; i += 65536) out.push(...s.body.subarray(i, i + 65536));
  }
  return Uint8Array.from(out);
}
