// `make canister`: writes canister/build/ledger.wasm and canister/ledger.did.
// `make canister-check` (--check): fails when the emitted Candid differs from ledger.did.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildDir, compileCanister } from "../test/canister/compile.ts";
import { repoRoot } from "../test/canister/motoko.ts";

const didPath = join(repoRoot, "canister", "ledger.did");
const { wasm, did } = await compileCanister({ fresh: process.argv.includes("--check") });
if (process.argv.includes("--check")) {
  const committed = readFileSync(didPath, "utf8");
  if (committed !== did) {
    console.error(
      "canister/ledger.did differs from the Candid that main.mo emits; run `make canister` and commit it",
    );
    process.exit(1);
  }
  console.log(`canister/ledger.did matches main.mo (${wasm.length} bytes of wasm)`);
} else {
  writeFileSync(join(buildDir, "ledger.wasm"), wasm);
  writeFileSync(didPath, did);
  console.log(`wrote canister/build/ledger.wasm (${wasm.length} bytes) and canister/ledger.did`);
}
