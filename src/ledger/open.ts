// The ledger URL used across the CLI and the operator:
//   DIR (or file://DIR)                      the embedded file backend
//   ic://<canister-id>?host=<url>[&…]        the canister backend (src/ledger/ic)
import { FileLedger } from "./file/index.ts";
import type { Ledger } from "./ledger.ts";

export interface OpenLedgerOptions {
  /** Readers (show, proof, verify) open without the write lock, alongside a running writer. */
  readOnly?: boolean;
  warn?: (message: string) => void;
  /** ic backend: PEM of the ed25519 identity that signs calls. */
  identityPem?: string;
}

export type LedgerLocation =
  | { backend: "file"; dir: string }
  | { backend: "ic"; canisterId: string; params: URLSearchParams };

export class LedgerUrlError extends Error {
  constructor(url: string, problem: string) {
    super(`ledger ${JSON.stringify(url)}: ${problem}`);
    this.name = "LedgerUrlError";
  }
}

export function parseLedgerUrl(url: string): LedgerLocation {
  if (url.length === 0) throw new LedgerUrlError(url, "empty; give a directory or ic://<canister-id>?host=<url>");
  if (url.startsWith("ic://")) {
    const parsed = new URL(url);
    if (parsed.hostname.length === 0) throw new LedgerUrlError(url, "missing the canister id after ic://");
    return { backend: "ic", canisterId: parsed.hostname, params: parsed.searchParams };
  }
  if (url.startsWith("file://")) return { backend: "file", dir: new URL(url).pathname };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new LedgerUrlError(url, "unknown scheme; use a directory or ic://");
  return { backend: "file", dir: url };
}

export async function openLedger(url: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const location = parseLedgerUrl(url);
  if (location.backend === "file") {
    const fileOptions = { readOnly: options.readOnly ?? false, ...(options.warn === undefined ? {} : { warn: options.warn }) };
    return FileLedger.open(location.dir, fileOptions);
  }
  // The ic backend (src/ledger/ic) plugs in here.
  throw new LedgerUrlError(url, "the ic backend is not wired in yet");
}
