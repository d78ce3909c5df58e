import type { Readable } from 'node:stream';

/** Where inputs and stage outputs live: S3 (or compatible) or a local directory. */
export interface Storage {
  readonly kind: 's3' | 'local';
  /**
   * Writes an object. The write is all-or-nothing: a failed or aborted write leaves nothing behind.
   * Resolves with the number of bytes written.
   */
  put(key: string, body: Readable | Buffer | string, opts: PutOptions): Promise<{ bytes: number }>;
  /** Reads an object as a stream; throws `StorageNotFoundError` when it does not exist. */
  get(key: string, signal?: AbortSignal): Promise<Readable>;
  /** Reads a (small) object as UTF-8 text, or undefined when it does not exist. */
  getText(key: string, signal?: AbortSignal): Promise<string | undefined>;
  exists(key: string, signal?: AbortSignal): Promise<boolean>;
  /** Deletes every object whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * A URL that downloads the object until `expiresAt` (unix seconds) without credentials. `baseUrl`: the
   * origin local-storage links start with (default: PUBLIC_URL); S3 links are S3's own.
   */
  signedUrl(
    key: string,
    expiresInSeconds: number,
    opts?: { filename?: string; baseUrl?: string },
  ): Promise<string>;
  /**
   * A link to the API's own file route (`/files/<key>`), signed with `linkSecret()`: for what the API serves
   * itself — files it renders on request (transcript.txt/.srt/.vtt). On local storage, the same as
   * `signedUrl`. `baseUrl`: the API's origin (default: PUBLIC_URL).
   */
  fileLink(key: string, expiresInSeconds: number, opts?: { baseUrl?: string }): Promise<string>;
  /** The secret `fileLink`s are signed with, the same for every process of the deployment. */
  linkSecret(): Promise<string>;
  /** Throws when the store cannot be reached (readiness). */
  ping(): Promise<void>;
}

export interface PutOptions {
  contentType: string;
  signal?: AbortSignal;
}

export class StorageNotFoundError extends Error {
  override name = 'StorageNotFoundError';
  constructor(key: string) {
    super(`no object at ${key}`);
  }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
