import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileCanister } from "./compile.ts";
import { repoRoot } from "./motoko.ts";

// lib es2024 has no WebAssembly declarations; this is the part of Node's global used here.
type WasmApi = {
  compile(bytes: Uint8Array): Promise<object>;
  Module: { imports(m: object): { module: string; name: string }[]; exports(m: object): { name: string }[] };
};
const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

describe("canister build", () => {
  it("main.mo compiles to IC wasm whose Candid is the committed ledger.did", async () => {
    const { wasm, did } = await compileCanister();
    expect(Array.from(wasm.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
    const committed = readFileSync(join(repoRoot, "canister", "ledger.did"), "utf8");
    expect(did, "run `make canister` and commit canister/ledger.did").toBe(committed);
  }, 180_000);

  it("the interface has every method the ic backend calls, queries exactly where it only reads", async () => {
    const { did } = await compileCanister();
    const service = did.slice(did.indexOf("service : {"));
    const methods = new Map<string, boolean>();
    for (const decl of service.slice(service.indexOf("{") + 1).split(";")) {
      const m = /^\n {2}([a-z_]+):/.exec(decl);
      if (m?.[1] !== undefined) methods.set(m[1], /\)\s*query\s*$/.test(decl));
    }
    const want: [string, boolean][] = [
      ["append", false],
      ["add_appender", false],
      ["remove_appender", false],
      ["set_max_entry_bytes", false],
      ["entries", true],
      ["lookup", true],
      ["tip", true],
      ["inclusion_proof", true],
      ["consistency_proof", true],
      ["stats", true],
      ["appenders", true],
    ];
    expect([...methods].sort()).toEqual(want.sort());
  }, 180_000);

  it("the wasm compiles under Node's WebAssembly, imports only ic0 and exports every method", async () => {
    const { wasm } = await compileCanister();
    const module = await webAssembly.compile(wasm);
    const modules = new Set(webAssembly.Module.imports(module).map((i) => i.module));
    expect([...modules]).toEqual(["ic0"]);
    const exports = new Set(webAssembly.Module.exports(module).map((e) => e.name));
    for (const m of ["append", "add_appender", "remove_appender", "set_max_entry_bytes"])
      expect(exports).toContain(`canister_update ${m}`);
    for (const q of [
      "entries",
      "lookup",
      "tip",
      "inclusion_proof",
      "consistency_proof",
      "stats",
      "appenders",
    ])
      expect(exports).toContain(`canister_query ${q}`);
    expect(exports).toContain("canister_post_upgrade");
  }, 180_000);
});
