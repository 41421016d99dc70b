#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";
import { commandName, main } from "./main.ts";

const argv = process.argv.slice(2);
// `artifact verify | fetch` (the init containers) hash, decrypt and write through native code:
// V8's optimising compilers, TurboFan and Maglev, would add only their code pages, compile
// zones and time (bench/artifact-fetch.ts). The init container gives node these flags on its
// command line (controller/artifact-pod.ts); Node does not accept them in NODE_OPTIONS, so for
// the artifact commands run by hand they are set here, before any of the command's code runs.
// main() called in-process is unaffected.
if (commandName(argv) === "artifact") setFlagsFromString("--no-opt --no-maglev");
process.exitCode = await main(argv);
