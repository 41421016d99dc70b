// One artifact check in a process of its own, so its peak RSS is its own: `verify <path> <digest>`
// or `fetch <uri> <digest> <dest>`. Prints {ms, maxRssBytes} as JSON.
import { performance } from "node:perf_hooks";
import { fetchArtifact, verifyDirectory } from "../src/artifact/index.ts";

const [mode, a = "", b = "", c = ""] = process.argv.slice(2);
const started = performance.now();
if (mode === "verify") await verifyDirectory(a, b);
else if (mode === "fetch") await fetchArtifact({ uri: a, digest: b, dest: c });
else if (mode !== "idle") throw new Error(`unknown mode ${String(mode)}`);
const ms = performance.now() - started;
// resourceUsage().maxRSS is in KiB.
console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
