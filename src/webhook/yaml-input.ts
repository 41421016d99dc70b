// The one way modelchain reads YAML it is given (the CLI's files and standard input, the
// webhook's `--source dir:`): bounded before the yaml package sees it, because that package
// holds hundreds of bytes per token, ~50 bytes per byte of a long quoted line, and expands
// aliases as often as they are used.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { Composer, CST, Lexer, LineCounter, Parser, type Document } from "yaml";
import { aliasExpansionOver } from "./yaml-aliases.ts";
import { YamlInputRefused, type YamlLimits } from "./yaml-limits.ts";

export { DEFAULT_YAML_MAX_BYTES, yamlLimits, YamlInputRefused, type YamlLimits } from "./yaml-limits.ts";

function raise(limits: YamlLimits): string {
  return limits.raisedBy === undefined ? "" : ` (raise it with ${limits.raisedBy})`;
}

/** Standard input arrives in pieces and may not be ready yet: wait a little, synchronously. */
function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
}

function readAtMost(fd: number, name: string, limits: YamlLimits): Buffer {
  const stat = fstatSync(fd);
  const tooLarge = (size: string): YamlInputRefused =>
    new YamlInputRefused(name, `${size} is over the ${limits.maxBytes}-byte input limit${raise(limits)}`);
  if (stat.isFile() && stat.size > limits.maxBytes) throw tooLarge(`${stat.size} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk);
    } catch (e: unknown) {
      if (e instanceof Error && "code" in e && e.code === "EAGAIN") {
        pause();
        continue;
      }
      throw e;
    }
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > limits.maxBytes) throw tooLarge(`more than ${limits.maxBytes} bytes`);
    chunks.push(chunk.subarray(0, n));
  }
}

/** How messages name an input: "-" is standard input. */
export function inputName(file: string): string {
  return file === "-" ? "standard input" : file;
}

/** Reads a file, or standard input for "-", refusing it past `limits.maxBytes`. */
export function readYamlText(file: string, limits: YamlLimits): string {
  const name = inputName(file);
  let fd: number | undefined;
  try {
    fd = file === "-" ? 0 : openSync(file, "r");
    return readAtMost(fd, name, limits).toString("utf8");
  } catch (e: unknown) {
    if (e instanceof YamlInputRefused) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new YamlInputRefused(name, `cannot be read: ${reason}`, undefined, { cause: e });
  } finally {
    if (fd !== undefined && fd !== 0) closeSync(fd);
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function checkLines(text: string, file: string, limits: YamlLimits): void {
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    const end = text.indexOf("\n", start);
    const stop = end === -1 ? text.length : end;
    if (stop - start > limits.maxLineChars)
      throw new YamlInputRefused(
        file,
        `line ${line}: longer than ${limits.maxLineChars} characters${raise(limits)}`,
        line,
      );
    if (end === -1) return;
    start = end + 1;
  }
}

/** Flow collections nested this deep take the parser seconds and then its stack. */
const MAX_FLOW_DEPTH = 64;

/** The lexer alone is cheap in memory: count its tokens before the parser builds anything. */
function checkTokens(text: string, file: string, limits: YamlLimits): void {
  let tokens = 0;
  let offset = 0;
  let depth = 0;
  const refuse = (problem: string): never => {
    const line = lineAt(text, offset);
    throw new YamlInputRefused(file, `line ${line}: ${problem}`, line);
  };
  for (const token of new Lexer().lex(text)) {
    // These three mark structure for the parser and stand for no source character.
    if (token !== CST.DOCUMENT && token !== CST.FLOW_END && token !== CST.SCALAR) offset += token.length;
    if (++tokens > limits.maxTokens) refuse(`more than ${limits.maxTokens} YAML tokens${raise(limits)}`);
    if (token === "[" || token === "{") depth++;
    else if (token === "]" || token === "}") depth--;
    if (depth > MAX_FLOW_DEPTH) refuse(`flow collections nested more than ${MAX_FLOW_DEPTH} deep`);
  }
}

export interface YamlDocument {
  /** 0-based position in the stream. */
  index: number;
  /** 1-based line the document starts on. */
  line: number;
  document: Document.Parsed;
  value: unknown;
}

function located(lines: LineCounter, offset: number): { line: number; col: number } {
  const { line, col } = lines.linePos(offset);
  return { line: Math.max(line, 1), col: Math.max(col, 1) };
}

function checkDocument(
  doc: Document.Parsed,
  index: number,
  file: string,
  lines: LineCounter,
  limits: YamlLimits,
): void {
  const error = doc.errors[0];
  if (error !== undefined) {
    const { line, col } = located(lines, error.pos[0]);
    throw new YamlInputRefused(
      file,
      `document ${index}, line ${line}, column ${col}: ${error.message}`,
      line,
      {
        cause: error,
      },
    );
  }
  const bomb = aliasExpansionOver(doc, limits.maxAliasNodes);
  if (bomb !== undefined) {
    const { line, col } = located(lines, bomb.alias.range?.[0] ?? 0);
    throw new YamlInputRefused(
      file,
      `document ${index}, line ${line}, column ${col}: aliases expand to more than ${limits.maxAliasNodes} ` +
        `nodes (an alias bomb?); the alias *${bomb.alias.source} here brings them to ${bomb.added}`,
      line,
    );
  }
}

function toValue(doc: Document.Parsed, index: number, file: string, line: number): unknown {
  try {
    return doc.toJS();
  } catch (e: unknown) {
    // The yaml package's own alias guard (maxAliasCount), or nesting deeper than the stack.
    const reason = e instanceof Error ? e.message : String(e);
    throw new YamlInputRefused(file, `document ${index}, line ${line}: ${reason}`, line, { cause: e });
  }
}

/**
 * The documents of a YAML stream, one at a time (a document is dropped once the caller moves on).
 * Refuses, naming the file and line, an input with a line or token count over the limits, a
 * malformed document, or one whose aliases expand too far.
 */
export function* parseYamlDocuments(text: string, file: string, limits: YamlLimits): Generator<YamlDocument> {
  checkLines(text, file, limits);
  checkTokens(text, file, limits);
  const lines = new LineCounter();
  const composer = new Composer();
  let index = 0;
  try {
    for (const document of composer.compose(new Parser(lines.addNewLine).parse(text), true, text.length)) {
      checkDocument(document, index, file, lines, limits);
      const line = located(lines, document.range[0]).line;
      yield { index, line, document, value: toValue(document, index, file, line) };
      index++;
    }
  } catch (e: unknown) {
    if (e instanceof RangeError)
      throw new YamlInputRefused(file, `document ${index}: nested too deeply (${e.message})`);
    throw e;
  }
}

/** `parseYamlDocuments` of a file, or of standard input for "-". */
export function readYamlDocuments(file: string, limits: YamlLimits): Generator<YamlDocument> {
  return parseYamlDocuments(readYamlText(file, limits), inputName(file), limits);
}
