#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import { commandName, main } from "./main.ts";

const argv = process.argv.slice(2);
// `artifact verify | fetch` (the init containers) hash, decrypt and write through native code:
// V8's optimising compiler would add only its own code pages (≈ 6 MiB of RSS at a fetch's peak,
// bench/artifact-fetch.ts) and compile time. Node does not accept --no-opt in NODE_OPTIONS, so it
// is set here, before any of the command's code runs; main() called in-process is unaffected.
if (commandName(argv) === "artifact") setFlagsFromString("--no-opt");
process.exitCode = await main(argv);
