// Where the Python tools the tests drive are: the cached venvs `test/pytools/setup.sh` makes
// (run by `make test`). Suites skip, printing why, when a tool is missing.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type ToolLookup = { bin: string } | { missing: string };

/** The path of executable `exe` in the venv of requirements group `group`. */
export function pythonTool(group: string, exe: string): ToolLookup {
  const req = join(import.meta.dirname, `requirements-${group}.txt`);
  const key = createHash("sha256").update(readFileSync(req)).digest("hex").slice(0, 12);
  const cache =
    process.env["MODELCHAIN_PYTOOLS_CACHE"] ??
    join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "modelchain", "pytools");
  const dir = join(cache, `${group}-${key}`);
  const bin = join(dir, "bin", exe);
  if (existsSync(join(dir, ".complete")) && existsSync(bin)) return { bin };
  return { missing: `no ${exe}: run \`test/pytools/setup.sh ${group}\` (needs python3 with venv and PyPI)` };
}

/** For `describe.skipIf`: prints the one line that says what is missing. */
export function skipWithoutPythonTool(suite: string, group: string, exe: string): boolean {
  const tool = pythonTool(group, exe);
  if ("missing" in tool) {
    console.log(`SKIP ${suite}: ${tool.missing}`);
    return true;
  }
  return false;
}
