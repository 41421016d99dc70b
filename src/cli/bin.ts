#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import { commandName, main } from "./main.ts";

const argv = process.argv.slice(2);
// `artifact verify | fetch` (the init containers) hash, decrypt and write through native code:
// V8's top-tier compiler, TurboFan, would add only its own code pages and heap (11 MiB of a
// 512 MiB fetch's peak RSS, bench/artifact-fetch.ts) and compile time; Maglev still runs. Node
// does not accept --no-opt in NODE_OPTIONS, so it is set here, before any of the command's code
// runs; main() called in-process is unaffected.
if (commandName(argv) === "artifact") setFlagsFromString("--no-opt");
process.exitCode = await main(argv);
