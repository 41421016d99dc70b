import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle } from "../../scripts/build.ts";
import { IMAGE_CLI } from "../../src/controller/artifact-pod.ts";

const root = join(import.meta.dirname, "..", "..");

describe("the published package", () => {
  it("refuses to bundle into a folder that holds a package (it would be emptied first)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mc-build-refuse-"));
    writeFileSync(join(dir, "package.json"), "{}");
    writeFileSync(join(dir, "keep.txt"), "kept");
    await expect(bundle(dir)).rejects.toThrow(/refusing to bundle into/);
    expect(readFileSync(join(dir, "keep.txt"), "utf8")).toBe("kept");
    rmSync(dir, { recursive: true, force: true });
  });

  it("bundles to JavaScript whose bin entry runs `modelchain --help`", () => {
    // Inside the project, so the compiled files resolve their dependencies from node_modules.
    mkdirSync(join(root, "node_modules", ".cache"), { recursive: true });
    const dir = mkdtempSync(join(root, "node_modules", ".cache", "build-test-"));
    const out = { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
    try {
      // As `make build` and the image build it: scripts/build.ts bundles the bin entries.
      const build = spawnSync(process.execPath, [join(root, "scripts/build.ts"), out.dir], {
        encoding: "utf8",
      });
      expect(build.status, build.stdout + build.stderr).toBe(0);
      const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
        bin: Record<string, string>;
      };
      const bin = join(out.dir, (pkg.bin["modelchain"] ?? "").replace(/^dist\//, ""));
      expect(existsSync(bin), bin).toBe(true);
      const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/Usage: modelchain/);
      expect(help.stdout).toMatch(/verify-proof/);
      // The demo reads samples/ beside package.json: found from a chunk under the output folder.
      const demo = spawnSync(process.execPath, [bin, "demo", "--state-dir", join(out.dir, "state")], {
        encoding: "utf8",
      });
      expect(demo.status, demo.stderr).toBe(0);
      expect(demo.stdout).toMatch(/ArtifactVerified/);
      // The init containers run the image's CLI by its path (controller/artifact-pod.ts): the
      // Dockerfile's entry point and the bundle's bin entry are that path.
      const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
      expect(dockerfile).toContain(`ENTRYPOINT ["node", "${IMAGE_CLI}"]`);
      expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
      expect(IMAGE_CLI).toBe(`/app/${pkg.bin["modelchain"] ?? ""}`);
    } finally {
      out.remove();
    }
  });
});
