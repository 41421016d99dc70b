// The CLI loads only the module of the command asked for; every command must still be reachable,
// and help (no command) must still list them all.
import { describe, expect, it } from "vitest";
import { buildProgram, commandName } from "../../src/cli/main.ts";

describe("commandName", () => {
  it("finds the command past the program's own options", () => {
    expect(commandName(["history", "ns/name"])).toBe("history");
    expect(commandName(["--max-input-bytes", "4096", "sign", "--key", "k"])).toBe("sign");
    expect(commandName(["--max-input-bytes=4096", "sign"])).toBe("sign");
    expect(commandName(["--", "show"])).toBe("show");
    expect(commandName(["--help"])).toBeUndefined();
    expect(commandName([])).toBeUndefined();
  });
});

describe("buildProgram", () => {
  it("registers every command when none is named, and each named one alone with its module", async () => {
    const all = (await buildProgram([])).commands.map((c) => c.name());
    expect(all).toEqual(
      expect.arrayContaining(["append", "verify", "sign", "history", "operator", "artifact"]),
    );
    for (const name of all) {
      const lazy = (await buildProgram([name])).commands.map((c) => c.name());
      expect(lazy, `${name} must be in the lazy table`).toContain(name);
      expect(lazy.length, `${name} loaded every module`).toBeLessThan(all.length);
    }
  });

  it("loads every command for a name it does not know, so commander can say so", async () => {
    const program = await buildProgram(["no-such-command"]);
    expect(program.commands.length).toBeGreaterThan(10);
  });
});
