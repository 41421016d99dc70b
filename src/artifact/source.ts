// What a fetcher needs from a store: the objects that make up the artifact, and each object's
// bytes from an offset on (a range request), with a validator (an ETag) so that a resumed range
// is known to come from the same object version.

/** One object of an artifact: its path inside the model directory and how the store names it. */
export interface RemoteObject {
  /** Relative POSIX path below the destination. */
  path: string;
  /** The store's name for it: an object key or a URL. */
  locator: string;
  /**
   * The SHA-256 (hex) the store lists for it, where it keeps one (the Hub's LFS oid): only a
   * hint that names a file whose bytes are not what the store says; the verdict is the digest.
   */
  listedSha256?: string;
}

export interface OpenedRange {
  body: AsyncIterable<Uint8Array>;
  /** The offset the body starts at: 0 when the store ignored the range and sent everything. */
  start: number;
  /** The object's full size, when the store said. */
  total?: number;
  /** ETag (or similar) of the object version served. */
  validator?: string;
  /**
   * The body's chunks are the consumer's alone once read (as Node's HTTPS response chunks are):
   * the memory of those that own their whole ArrayBuffer may be handed back once written.
   */
  ownedChunks?: boolean;
}

export interface ArtifactSource {
  list(): Promise<RemoteObject[]>;
  /** `validator` from an earlier range: the store must refuse or restart if the object changed. */
  open(object: RemoteObject, offset: number, validator: string | undefined): Promise<OpenedRange>;
}

/** A store refused or failed a request; `transient` says whether trying again may help. */
export class ArtifactFetchFailed extends Error {
  override readonly name = "ArtifactFetchFailed";
  readonly transient: boolean;
  readonly status: number | undefined;
  constructor(message: string, transient: boolean, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.transient = transient;
    this.status = status;
  }
}

/** HTTP statuses worth a retry: the server or something in between was briefly unable. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
