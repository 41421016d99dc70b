// The ledger URL used across the CLI and the operator:
//   DIR (or file://DIR)                      the embedded file backend
//   ic://<canister-id>?host=<url>[&…]        the canister backend (src/ledger/ic), with
//     host=<url>              replica or boundary node (default https://icp-api.io)
//     rootKey=<hex DER>       the BLS root key certificates must chain to (default: mainnet's)
//     fetchRootKey=true       ask the replica for it (a local replica or PocketIC; never mainnet)
//     identity=<pem file>     who signs calls (default $MODELCHAIN_IC_IDENTITY, else anonymous)
//     maxCertAge=<seconds>    how old a certified tip may be (default 300)
//     verifyQuerySignatures=false   skip the agent's replica-signature check on query replies
//     outbox=<dir>            appends wait on disk there first: nothing is lost while the
//                             canister is unreachable; they are replayed in order
import { readFileSync } from "node:fs";
import { AnonymousIdentity } from "@dfinity/agent";
import { LedgerUrlError } from "./errors.ts";
import { FileLedger } from "./file/index.ts";
import { IcLedger, type IcLedgerOptions } from "./ic/ledger.ts";
import { identityFromPem } from "./ic/identity.ts";
import type { Ledger } from "./ledger.ts";
import { OutboxLedger } from "./outbox-ledger.ts";

export interface OpenLedgerOptions {
  /** Readers (show, proof, verify) open without the write lock, alongside a running writer. */
  readOnly?: boolean;
  warn?: (message: string) => void;
  /** ic backend: PEM of the ed25519 or secp256k1 identity that signs calls. */
  identityPem?: string;
  /** ic backend: the transport (tests talk to an in-process canister host through it). */
  fetch?: typeof fetch;
}

const MAINNET = "https://icp-api.io";

function flag(url: string, params: URLSearchParams, name: string): boolean | undefined {
  const v = params.get(name);
  if (v === null) return undefined;
  if (v === "true" || v === "1" || v === "") return true;
  if (v === "false" || v === "0") return false;
  throw new LedgerUrlError(url, `${name}=${v}: want true or false`);
}

const IC_PARAMETERS = new Set([
  "host",
  "rootKey",
  "fetchRootKey",
  "identity",
  "maxCertAge",
  "verifyQuerySignatures",
  "outbox",
]);

function checkedHost(url: string, params: URLSearchParams): string {
  for (const name of params.keys())
    if (!IC_PARAMETERS.has(name))
      throw new LedgerUrlError(url, `unknown parameter ${name}; known: ${[...IC_PARAMETERS].join(", ")}`);
  const host = params.get("host") ?? MAINNET;
  try {
    new URL(host);
  } catch {
    throw new LedgerUrlError(url, `host=${host} is not a URL`);
  }
  return host;
}

/** Where the root key comes from: pinned (hex DER), fetched (never for mainnet), or built in. */
function rootKeyOptions(url: string, params: URLSearchParams, host: string): Partial<IcLedgerOptions> {
  const rootKeyHex = params.get("rootKey");
  if (rootKeyHex !== null && !/^([0-9a-fA-F]{2})+$/.test(rootKeyHex))
    throw new LedgerUrlError(url, "rootKey must be the hex DER of the BLS root key");
  const fetchRootKey = flag(url, params, "fetchRootKey") ?? false;
  if (
    fetchRootKey &&
    /(^|\.)(icp0\.io|ic0\.app|icp-api\.io)$/.test(new URL(host).hostname.replace(/\.$/, ""))
  ) {
    throw new LedgerUrlError(
      url,
      "fetchRootKey would trust whatever key the network answers; mainnet's key is built in",
    );
  }
  return {
    fetchRootKey,
    ...(rootKeyHex === null ? {} : { rootKey: new Uint8Array(Buffer.from(rootKeyHex, "hex")) }),
  };
}

function identityPem(url: string, params: URLSearchParams, options: OpenLedgerOptions): string | undefined {
  const identityFile = params.get("identity") ?? process.env["MODELCHAIN_IC_IDENTITY"];
  if (options.identityPem !== undefined || identityFile === undefined || identityFile === "")
    return options.identityPem;
  try {
    return readFileSync(identityFile, "utf8");
  } catch (e: unknown) {
    throw new LedgerUrlError(url, `identity ${identityFile}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The ic backend's options from an ic:// URL's parameters. */
export function icOptions(
  url: string,
  canisterId: string,
  params: URLSearchParams,
  options: OpenLedgerOptions,
): IcLedgerOptions {
  const host = checkedHost(url, params);
  const maxCertAge = params.get("maxCertAge");
  if (maxCertAge !== null && !/^\d+$/.test(maxCertAge))
    throw new LedgerUrlError(url, `maxCertAge=${maxCertAge}: want whole seconds`);
  const pem = identityPem(url, params, options);
  const verifyQuerySignatures = flag(url, params, "verifyQuerySignatures");
  if (pem === undefined && options.readOnly !== true)
    options.warn?.(
      `ledger ${url}: no identity (identity= or $MODELCHAIN_IC_IDENTITY): calls are anonymous, and the canister refuses anonymous appends`,
    );
  return {
    canisterId,
    host,
    identity: pem === undefined ? new AnonymousIdentity() : identityFromPem(pem),
    fetchRootKey: false,
    ...rootKeyOptions(url, params, host),
    ...(maxCertAge === null ? {} : { maxCertificateAgeMs: Number(maxCertAge) * 1000 }),
    ...(verifyQuerySignatures === undefined ? {} : { verifyQuerySignatures }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.warn === undefined ? {} : { warn: options.warn }),
  };
}

export { LedgerUrlError };

export type LedgerLocation =
  { backend: "file"; dir: string } | { backend: "ic"; canisterId: string; params: URLSearchParams };

export function parseLedgerUrl(url: string): LedgerLocation {
  if (url.length === 0)
    throw new LedgerUrlError(url, "empty; give a directory or ic://<canister-id>?host=<url>");
  if (url.startsWith("ic://")) {
    const parsed = new URL(url);
    if (parsed.hostname.length === 0) throw new LedgerUrlError(url, "missing the canister id after ic://");
    return { backend: "ic", canisterId: parsed.hostname, params: parsed.searchParams };
  }
  if (url.startsWith("file://")) return { backend: "file", dir: new URL(url).pathname };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new LedgerUrlError(url, "unknown scheme; use a directory or ic://");
  return { backend: "file", dir: url };
}

export async function openLedger(url: string, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const location = parseLedgerUrl(url);
  if (location.backend === "file") {
    const fileOptions = {
      readOnly: options.readOnly ?? false,
      ...(options.warn === undefined ? {} : { warn: options.warn }),
    };
    return FileLedger.open(location.dir, fileOptions);
  }
  const ledger = await IcLedger.create(icOptions(url, location.canisterId, location.params, options));
  const outbox = location.params.get("outbox");
  if (outbox === null || options.readOnly === true) return ledger;
  if (outbox === "") throw new LedgerUrlError(url, "outbox= needs a directory");
  return OutboxLedger.open(ledger, outbox, options.warn === undefined ? {} : { warn: options.warn });
}
