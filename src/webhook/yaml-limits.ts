// The limits modelchain reads YAML within, and the error when an input is refused: apart from
// yaml-input.ts so that commands which never read YAML (artifact fetch in an init container)
// do not load the yaml package to name them.
export interface YamlLimits {
  /** Bytes of one input; a larger file is refused before any of it is read. */
  maxBytes: number;
  /** Characters of one line. */
  maxLineChars: number;
  /** Lexical tokens of one input (scalars, indicators, spaces, newlines). */
  maxTokens: number;
  /** Nodes that aliases may add to one document by expanding (an alias bomb adds billions). */
  maxAliasNodes: number;
  /** How a user raises the limits, for the messages (e.g. a flag). */
  raisedBy?: string;
}

export const DEFAULT_YAML_MAX_BYTES = 4 * 1024 * 1024;

/** Limits derived from one size: typical YAML has 4–5 bytes per token, so a quarter as many tokens. */
export function yamlLimits(maxBytes = DEFAULT_YAML_MAX_BYTES, raisedBy?: string): YamlLimits {
  return {
    maxBytes,
    maxLineChars: Math.min(maxBytes, 1024 * 1024),
    maxTokens: Math.ceil(maxBytes / 4),
    maxAliasNodes: 10_000,
    ...(raisedBy === undefined ? {} : { raisedBy }),
  };
}

/** YAML input refused: unreadable, over a limit, or malformed. `problem` is the message without the file. */
export class YamlInputRefused extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly problem: string;
  constructor(file: string, problem: string, line?: number, options?: ErrorOptions) {
    super(`${file}: ${problem}`, options);
    this.name = "YamlInputRefused";
    this.file = file;
    this.line = line;
    this.problem = problem;
  }
}
