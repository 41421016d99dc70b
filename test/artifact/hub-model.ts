// A generated model repository as the Hub holds one: safetensors shards and an ONNX export
// (LFS files), config, tokenizer folder, README and .gitattributes (small git files).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

export const REVISION = "5f0c1d9e3b2a47c68e9d0a1b2c3d4e5f60718293";

export function generatedModel(): Record<string, Buffer> {
  return {
    ".gitattributes": Buffer.from(
      "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.onnx filter=lfs diff=lfs merge=lfs -text\n",
    ),
    "README.md": Buffer.from("# tiny-llm\nA generated model for tests.\n"),
    "config.json": Buffer.from('{"architectures": ["LlamaForCausalLM"], "hidden_size": 8}'),
    "generation_config.json": Buffer.from('{"max_new_tokens": 16}'),
    "model-00001-of-00002.safetensors": randomBytes(700_000),
    "model-00002-of-00002.safetensors": randomBytes(300_000),
    "model.safetensors.index.json": Buffer.from('{"weight_map": {}}'),
    "onnx/model.onnx": randomBytes(50_000),
    "tokenizer/special_tokens_map.json": Buffer.from('{"eos_token": "</s>"}'),
    "tokenizer/tokenizer.json": Buffer.from('{"model": {"type": "BPE"}}'),
    "tokenizer/vocab.txt": Buffer.from("a\nb\nc\n"),
  };
}

/** The files written to a fresh folder; returns it. */
export function writeModelDir(files: Record<string, Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), "mc-hub-model-"));
  for (const [path, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
  return root;
}

/** Every regular file below `root` (relative POSIX path → bytes), leaving out `skip` folders. */
export function readModelDir(root: string, skip: readonly string[] = []): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      const rel = relative(root, path).split("\\").join("/");
      if (skip.includes(rel)) continue;
      if (e.isDirectory()) walk(path);
      else out[rel] = readFileSync(path);
    }
  };
  walk(root);
  return out;
}

/** The files below `folder/`, relative to it. */
export function below(files: Record<string, Buffer>, folder: string): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(files)
      .filter(([p]) => p.startsWith(`${folder}/`))
      .map(([p, b]) => [p.slice(folder.length + 1), b]),
  );
}
